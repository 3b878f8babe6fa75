"""The evaluation protocols' splits: random, grouped k-fold by speaker, held-out speakers, leave one corpus out.

Every function returns integer index arrays into the clip table. Validation data for
early stopping always comes out of the training indices (never the test set).
:func:`split` is the one place a protocol becomes its splits: a :class:`SplitSpec` (the
protocol and its settings) applied to the clips' labels, speakers and corpora. Training,
the leakage check and the dashboard all call it.

Examples
--------
>>> labels = ["sad", "angry"] * 6
>>> speakers = ["a", "a", "b", "b", "c", "c"] * 2
>>> corpora = ["one"] * 6 + ["two"] * 6
>>> [test.tolist() for _, test in split(SplitSpec("loco"), labels=labels, speakers=speakers, corpora=corpora)]
[[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
>>> len(split(SplitSpec("kfold", n_folds=3), labels=labels, speakers=speakers, corpora=corpora))
3
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ser_core.errors import InputError

#: Protocols :func:`split` knows: those of one corpus, leave one corpus out, and a manifest's own split column.
SPLIT_PROTOCOLS = ("random", "kfold", "holdout", "loco", "manifest")


@dataclass(frozen=True)
class SplitSpec:
    """A protocol and the settings that decide its splits.

    ``protocol``: ``random`` (stratified, ``test_size`` of the clips), ``kfold``
    (``n_folds`` folds grouped by speaker), ``holdout`` (``test_speakers`` held out),
    ``loco`` (each corpus left out in turn) or ``manifest`` (the split column a manifest
    declares). ``seed`` makes random and k-fold splits repeatable.
    """

    protocol: str
    n_folds: int = 5
    test_speakers: tuple = ()
    test_size: float = 0.2
    seed: int = 42

    def __post_init__(self):
        if self.protocol == "cross_corpus":
            raise InputError("the cross_corpus protocol has no split of the training corpus: its test clips come "
                             "from another corpus")
        if self.protocol not in SPLIT_PROTOCOLS:
            raise InputError(f"unknown protocol {self.protocol!r}; expected one of {', '.join(SPLIT_PROTOCOLS)}")
        if isinstance(self.test_speakers, (str, int, np.integer)):
            object.__setattr__(self, "test_speakers", (self.test_speakers,))
        object.__setattr__(self, "test_speakers", tuple(str(speaker) for speaker in self.test_speakers))
        if self.protocol == "holdout" and not self.test_speakers:
            raise InputError("the holdout protocol needs test_speakers (e.g. ('01', '02'))")


def split(spec: SplitSpec, *, labels, speakers=None, corpora=None, declared=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``[(train_idx, test_idx), ...]`` of a protocol on these clips.

    Parameters
    ----------
    spec : SplitSpec
        The protocol and its settings.
    labels : array-like
        Each clip's label.
    speakers : array-like, optional
        Each clip's speaker (needed by ``kfold`` and ``holdout``). With ``corpora``, k-fold
        groups by (corpus, speaker), so two corpora's speaker ``01`` are two speakers.
    corpora : array-like, optional
        Each clip's corpus (needed by ``loco``).
    declared : array-like, optional
        Each clip's declared split, ``train``/``validation``/``test`` (``manifest``).

    Raises
    ------
    InputError
        A protocol's column is missing, or the clips cannot be split that way.
    """
    def needed(values, name):
        if values is None:
            raise InputError(f"the {spec.protocol} protocol needs each clip's {name}")
        return values

    if spec.protocol == "random":
        return [random_split(labels, test_size=spec.test_size, seed=spec.seed)]
    if spec.protocol == "kfold":
        keys = speaker_keys(needed(speakers, "speaker"), corpora)
        return grouped_kfold(keys, n_splits=int(spec.n_folds), labels=labels, seed=spec.seed)
    if spec.protocol == "holdout":
        return [holdout_speakers(needed(speakers, "speaker"), test_speakers=spec.test_speakers)]
    if spec.protocol == "loco":
        return leave_one_corpus_out(needed(corpora, "corpus"))
    return [declared_split(needed(declared, "declared split (a manifest's split column)"))]


def speaker_keys(speakers, corpora=None) -> np.ndarray:
    """Each clip's speaker, qualified by its corpus when the clips come from several corpora.

    Two corpora may both name a speaker ``01``; ``ravdess:01`` and ``savee:01`` are two
    voices. Speakers already written with their corpus (``tess:OAF``) stay as they are, and
    one corpus's speakers are returned unchanged.
    """
    speakers = np.asarray(speakers).astype(str)
    if corpora is None:
        return speakers
    corpora = np.asarray(corpora).astype(str)
    if len(set(corpora.tolist())) < 2:
        return speakers
    return np.array([speaker if speaker.startswith(f"{corpus}:") else f"{corpus}:{speaker}"
                     for corpus, speaker in zip(corpora, speakers)])


def _as_array(values, *, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise InputError(f"{name} must be a non-empty 1-D sequence; got shape {array.shape}")
    return array


def _check_fraction(value: float, *, name: str) -> None:
    if not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise InputError(f"{name} must be a fraction between 0 and 1 (exclusive); got {value!r}")


def _speaker_key(speaker):
    """Compare speakers loosely: 1, "1" and "01" are the same speaker."""
    text = str(speaker).strip()
    return int(text) if text.isdigit() else text


def random_split(labels, *, test_size: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Return the study's stratified random ``(train_idx, test_idx)`` split.

    This is ``train_test_split(..., test_size, stratify=labels, random_state=seed)``,
    so the same actors land in train and test: it measures speaker memorisation as
    much as emotion. Prefer :func:`grouped_kfold` or :func:`holdout_speakers`.
    """
    from sklearn.model_selection import train_test_split

    labels = _as_array(labels, name="labels")
    _check_fraction(test_size, name="test_size")
    rarest, count = Counter(labels.tolist()).most_common()[-1]
    if count < 2:
        raise InputError(
            f"class {rarest!r} has {count} clip; a stratified split needs at least 2 per class"
        )
    try:
        train_idx, test_idx = train_test_split(
            np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=seed
        )
    except ValueError as error:
        raise InputError(f"cannot split {len(labels)} clips with test_size={test_size}: {error}") from None
    return train_idx, test_idx


def grouped_kfold(
    speakers, *, n_splits: int = 5, labels=None, seed: int = 42
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return speaker-independent ``[(train_idx, test_idx), ...]`` folds by speaker.

    Every speaker is in exactly one test fold and never in the training part of that
    fold. With ``labels`` the folds are also stratified (``StratifiedGroupKFold``).
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = _as_array(speakers, name="speakers")
    n_groups = len(np.unique(groups))
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise InputError(f"n_splits must be an integer of at least 2; got {n_splits!r}")
    if n_splits > n_groups:
        raise InputError(
            f"n_splits={n_splits} folds need at least {n_splits} speakers; got {n_groups}"
        )
    if labels is None:
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(len(groups)), groups=groups)
    else:
        labels = _as_array(labels, name="labels")
        if len(labels) != len(groups):
            raise InputError(f"labels has {len(labels)} entries but speakers has {len(groups)}")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(len(groups)), labels, groups=groups)
    return [(np.sort(train), np.sort(test)) for train, test in folds]


def holdout_speakers(speakers, *, test_speakers) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(train_idx, test_idx)`` with the given speakers held out for testing.

    Speakers compare loosely, so ``test_speakers=[21, 22]`` matches speakers ``"21"``, ``"22"``.
    """
    groups = _as_array(speakers, name="speakers")
    if isinstance(test_speakers, (str, int, np.integer)):
        test_speakers = [test_speakers]
    wanted = {_speaker_key(speaker) for speaker in test_speakers}
    if not wanted:
        raise InputError("test_speakers is empty; name at least one speaker to hold out")
    keys = np.array([_speaker_key(speaker) for speaker in groups], dtype=object)
    present = set(keys.tolist())
    missing = sorted(map(str, wanted - present))
    if missing:
        available = ", ".join(sorted(map(str, np.unique(groups))))
        raise InputError(f"test speaker(s) {', '.join(missing)} not in the data; speakers present: {available}")
    if wanted >= present:
        raise InputError("every speaker is a test speaker; leave at least one speaker for training")
    is_test = np.array([key in wanted for key in keys])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def leave_one_corpus_out(corpora) -> list[tuple[np.ndarray, np.ndarray]]:
    """One ``(train_idx, test_idx)`` per corpus, in name order: that corpus tested, every other one trained on.

    Raises InputError when the clips come from fewer than two corpora.
    """
    corpora = _as_array(corpora, name="corpora").astype(str)
    names = sorted(set(corpora.tolist()))
    if len(names) < 2:
        raise InputError(f"leaving one corpus out needs clips of at least 2 corpora; got {len(names)} "
                         f"({', '.join(names)}): give a manifest with a corpus column, e.g. path,label,speaker,corpus")
    return [(np.flatnonzero(corpora != name), np.flatnonzero(corpora == name)) for name in names]


def validation_split(
    train_idx,
    *,
    labels,
    speakers,
    fraction: float = 0.15,
    seed: int = 42,
    speaker_independent: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Split training indices into ``(fit_idx, val_idx)``, validation from training speakers only.

    Parameters
    ----------
    train_idx : array of int
        Indices (into ``labels`` and ``speakers``) available for training.
    labels, speakers : array-like
        Label and speaker of every clip (full length, not just the training part).
    fraction : float
        Share of the training clips (or, speaker-independent, of the training speakers)
        used for validation.
    seed : int
        Random seed.
    speaker_independent : bool
        Hold out whole speakers (at least one) so validation measures generalisation to
        new speakers; otherwise a stratified random subset of the clips (unstratified
        when a class has fewer than two training clips).

    Returns
    -------
    tuple of np.ndarray
        ``fit_idx`` and ``val_idx``: disjoint, sorted, and together equal to ``train_idx``.
    """
    train_idx = _as_array(train_idx, name="train_idx").astype(np.int64)
    labels = _as_array(labels, name="labels")
    _check_fraction(fraction, name="fraction")
    if train_idx.min() < 0 or train_idx.max() >= len(labels):
        raise InputError(f"train_idx must index into {len(labels)} clips; got values up to {train_idx.max()}")
    rng = np.random.default_rng(seed)
    if speaker_independent:
        if speakers is None:
            raise InputError("speakers (the speaker of each clip) are needed for a speaker-independent validation "
                             "split")
        speakers = _as_array(speakers, name="speakers")
        if len(speakers) != len(labels):
            raise InputError(f"labels has {len(labels)} entries but speakers has {len(speakers)}")
        present = np.unique(speakers[train_idx])
        if len(present) < 2:
            raise InputError(
                f"the training part has {len(present)} speaker; a speaker-independent validation split "
                "needs at least 2 (or pass speaker_independent=False)"
            )
        n_val = min(len(present) - 1, max(1, int(round(fraction * len(present)))))
        val_speakers = rng.choice(present, size=n_val, replace=False)
        is_val = np.isin(speakers[train_idx], val_speakers)
    else:
        n_val = max(1, int(round(fraction * len(train_idx))))
        if n_val >= len(train_idx):
            raise InputError(f"cannot take a validation part from {len(train_idx)} training clips")
        is_val = _stratified_mask(labels[train_idx], n_val=n_val, rng=rng)
    return np.sort(train_idx[~is_val]), np.sort(train_idx[is_val])


def _stratified_mask(labels: np.ndarray, *, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask choosing n_val positions, proportionally per class where possible."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    counts = Counter(labels.tolist())
    can_stratify = min(counts.values()) >= 2 and len(counts) <= n_val <= len(labels) - len(counts)
    stratify = labels if can_stratify else None
    seed = int(rng.integers(2**31 - 1))
    _, val = train_test_split(positions, test_size=n_val, stratify=stratify, random_state=seed)
    mask = np.zeros(len(labels), dtype=bool)
    mask[val] = True
    return mask


def declared_split(values) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, test_idx)`` from a manifest's split column: train and validation rows train, test rows test.

    Rows with no split are on neither side. Raises InputError when no row is on one of the sides.
    """
    import pandas as pd

    values = np.asarray(["" if pd.isna(value) else str(value) for value in values])
    train_idx = np.flatnonzero(np.isin(values, ("train", "validation")))
    test_idx = np.flatnonzero(values == "test")
    if not len(train_idx) or not len(test_idx):
        raise InputError(f"the split column puts {len(train_idx)} clips in training and {len(test_idx)} in test; "
                         "expected some of each (values train, validation, test)")
    return train_idx, test_idx
