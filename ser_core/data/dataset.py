"""A corpus as arrays: features with labels, speakers, corpora and paths (``load_dataset``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ser_core.data.labels import label_order
from ser_core.errors import InputError


@dataclass
class Dataset:
    """Features with their labels, speakers, corpora and source paths, first axis = clips.

    ``speakers`` are as the corpus names them (unique within a corpus); ``corpora`` the
    corpus of each clip (default: the dataset's title for every clip); ``layout`` how the
    clips were found (:attr:`ser_core.data.index.CorpusIndex.layout`).
    """

    X: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    paths: list
    feature_kind: str
    settings: object
    corpora: np.ndarray | None = None
    layout: str = ""
    source: str = ""
    title: str = ""
    """A short name of the corpus for screens and reports (:attr:`ser_core.data.index.CorpusIndex.title`)."""
    augmented: dict = field(default_factory=dict)
    """Features of augmented copies of every clip, by augmentation key (same row order as X)."""
    skipped: list = field(default_factory=list)
    """``{"path", "reason"}`` of every clip left out because it gave no features."""
    root: str = ""
    """The folder the clip paths are relative to (:attr:`ser_core.data.index.CorpusIndex.root`)."""

    def __post_init__(self):
        if self.corpora is None:
            self.corpora = np.full(len(self.labels), self.title or self.layout or "corpus")
        self.corpora = np.asarray(self.corpora).astype(str)

    @property
    def corpus_names(self) -> list[str]:
        """The corpora the clips come from, sorted."""
        return sorted(set(self.corpora.tolist()))

    @property
    def label_order(self):
        """The labels present, in the shared emotion order (other labels after, sorted)."""
        return label_order(self.labels.tolist())

    @property
    def source_name(self) -> str:
        """The corpus folder, zip or manifest by name only (what a model folder records, never a server path)."""
        return Path(self.source or self.root).name or self.title or self.layout

    def relative(self, path) -> str:
        """A clip's path relative to the corpus root (its file name when it lies outside)."""
        if self.root:
            try:
                return Path(path).relative_to(self.root).as_posix()
            except ValueError:
                pass
        return Path(path).name


def load_dataset(data, *, feature_kind, settings=None, progress=None, augment=(), label_map=None):
    """Return a :class:`Dataset`: index ``data`` (folder, zip, manifest or CorpusIndex) and extract features.

    Byte-identical duplicate clips (two files of RAVDESS actor 07) are dropped so a
    clip can never be in training and test at once. A clip that gives no features
    (silent, too short, undecodable) is left out and listed in ``skipped`` with its
    reason, as is a clip whose augmented copy fails. Features come from the cache when
    they were extracted before. ``augment``: augmentation keys (e.g. ``speed0.9``) whose
    copies of every clip are extracted too. ``label_map`` renames labels when ``data`` is a
    path (:func:`ser_core.data.index.index_corpus`); an index is used as it is.

    Examples
    --------
    >>> dataset = load_dataset("../shared/data/ravdess-16k", feature_kind="MFCC-16000-40")  # doctest: +SKIP
    >>> dataset.X.shape, len(dataset.skipped)  # doctest: +SKIP
    ((1199, 160), 0)
    """
    from ser_core.audio.augment import parse_augmentation, require_installed
    from ser_core.audio.preprocess import PreprocessSettings
    from ser_core.data.index import CorpusIndex, index_corpus
    from ser_core.features import extract_clips, parse_kind

    if isinstance(data, Dataset):
        missing = [key for key in augment if key not in data.augmented]
        if missing:
            raise InputError(f"the dataset has no features for augmentations {missing}; load it with augment=...")
        return data
    augmentations = [require_installed(parse_augmentation(key)) for key in augment]  # before any clip is read
    spec = parse_kind(feature_kind)
    settings = replace(settings or PreprocessSettings(), sample_rate=spec.sample_rate)
    index = data if isinstance(data, CorpusIndex) else index_corpus(data, label_map=label_map)
    clips = index.clips
    if "duplicate_of" in clips:
        clips = clips[clips["duplicate_of"].isna()]
    paths = clips["path"].tolist()
    extracted = [extract_clips(paths, spec=spec, settings=settings, progress=progress)]
    extracted += [extract_clips(paths, spec=spec, settings=settings, progress=progress,
                                augmentation=augmentation) for augmentation in augmentations]
    reasons = {}
    for result in reversed(extracted):  # the original clip's reason wins over its copy's
        reasons.update(result.failures)
    keep = np.array([i not in reasons for i in range(len(paths))], dtype=bool)
    if not keep.any():
        raise InputError(f"none of the {len(paths)} clips gave {spec.name} features "
                         f"(first reason: {next(iter(reasons.values()))})")
    return Dataset(
        X=extracted[0].X[keep],
        labels=clips["label"].to_numpy(dtype=str)[keep],
        speakers=clips["speaker"].astype(str).to_numpy()[keep],
        paths=[path for path, kept in zip(paths, keep) if kept],
        feature_kind=spec.name,
        settings=settings,
        corpora=clips["corpus"].astype(str).to_numpy()[keep],
        layout=index.layout,
        source=index.source or str(index.root),
        title=index.title,
        augmented={key: result.X[keep] for key, result in zip(augment, extracted[1:])},
        skipped=[{"path": paths[i], "reason": why} for i, why in sorted(reasons.items())],
        root=str(index.root),
    )
