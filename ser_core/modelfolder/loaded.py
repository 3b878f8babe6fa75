"""A loaded model: audio in, a :class:`~ser_core.modelfolder.prediction.Prediction` out; features in, probabilities out.

Every model kind answers the same calls (:class:`Predictor`), so evaluation, the CLI and
the app take any of them: :class:`LoadedModel` (one trained estimator with the
preprocessing and features it expects), :class:`EnsembleModel` (several, averaged with
fixed weights) and :class:`ser_core.serving.speakers.SpeakerAdaptation` (a model adapted
to one voice). Audio in and features in have different names, as in scikit-learn,
whose ``predict_proba`` takes features:

* audio in: ``features(source, *, sample_rate=None)`` gives one clip's features and
  ``predict_audio(source, *, sample_rate=None)`` its :class:`Prediction`;
* features in: ``predict_proba(X)`` gives probabilities ``(clips, labels)`` and
  ``predict(X)`` labels, for a batch ``X`` made by ``stack_features(rows)`` from per-clip
  features (for an ensemble, a dict of arrays by member name);
* a corpus: ``corpus_features(data)`` gives a :class:`~ser_core.data.dataset.Dataset`
  whose ``X`` ``predict_proba`` takes.

Probabilities are temperature-scaled with the temperature stored in the model folder
(:mod:`ser_core.scoring.temperature`). A model with a speaker-adapted head
(``adaptive_linear``, or an ensemble holding one; :mod:`ser_core.models.speaker_stats`)
also takes ``speaker=`` statistics (:meth:`LoadedModel.speaker_stats`), which
:mod:`ser_core.serving.speakers` wraps as a model of its own. Build models with
:func:`ser_core.modelfolder.read.load_model`; this module knows nothing of model folders.

Examples
--------
>>> from ser_core.modelfolder.read import default_model_dir, load_model
>>> model = load_model(default_model_dir())  # doctest: +SKIP
>>> model.predict_audio("clip.wav").label  # doctest: +SKIP
'angry'
>>> X = model.stack_features([model.features(path) for path in ("a.wav", "b.wav")])  # doctest: +SKIP
>>> model.predict_proba(X).shape  # doctest: +SKIP
(2, 8)
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache, cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from ser_core.errors import InputError, ModelError
from ser_core.modelfolder.prediction import Prediction, source_name

#: The key of a gated ensemble's features that holds a clip's recording-quality estimates.
QUALITY_KEY = "recording_quality"


class Predictor(Protocol):
    """The calls every model kind answers (loaded, ensemble, adapted to a speaker)."""

    name: str
    labels: list[str]
    sample_rate: int

    def features(self, source, *, sample_rate=None): ...

    def stack_features(self, rows): ...

    def predict_proba(self, X) -> np.ndarray: ...

    def predict(self, X) -> np.ndarray: ...

    def predict_audio(self, source, *, sample_rate=None) -> Prediction: ...

    def corpus_features(self, data, *, progress=None, label_map=None): ...


def _temperature(config, key="temperature"):
    value = (config.get("calibration") or {}).get(key)
    return float(value) if value else 1.0


def _feature_batch(X, *, what: str) -> np.ndarray:
    """``X`` as an array of at least two dimensions (clips first); audio or a path is refused with the right call."""
    if isinstance(X, (str, bytes, os.PathLike)) or hasattr(X, "read"):
        raise InputError(f"{what}.predict_proba takes features, as scikit-learn's does; received {type(X).__name__} "
                         "(audio): use predict_audio(source) for audio")
    X = np.asarray(X)
    if X.ndim < 2:
        raise InputError(f"{what}.predict_proba takes a batch of features (clips first, as scikit-learn's does); "
                         f"received an array of shape {X.shape}: use stack_features([row]) for one clip's features, "
                         "or predict_audio(y, sample_rate=...) for audio")
    return X


class LoadedModel:
    """One trained model with its preprocessing, features and temperature."""

    def __init__(self, path, config, metrics, estimator):
        from ser_core.audio.preprocess import PreprocessSettings
        from ser_core.features import parse_kind

        self.path = Path(path)
        self.config = config
        self.metrics = metrics
        self.estimator = estimator
        self.name = config["name"]
        self.labels = [str(label) for label in config["labels"]]
        self.settings = PreprocessSettings.from_dict(config["preprocess"])
        self.spec = parse_kind(config["features"]["kind"])
        self.temperature = _temperature(config)
        self.temperature_adapted = _temperature(config, "temperature_adapted")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, model={self.config['model']!r}, features={self.spec.name!r})"

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) the model's features are computed at."""
        return self.settings.sample_rate

    @property
    def kind(self) -> str:
        """The model's registry name (``logmel_cnn``, ``ensemble``, ...)."""
        return self.config["model"]

    @cached_property
    def signature(self) -> str:
        """A digest of the folder's config, which records every file's SHA-256: equal signatures, equal predictions."""
        return hashlib.sha256(json.dumps(self.config, sort_keys=True, default=str).encode()).hexdigest()

    def describe(self) -> str:
        """One line: model and features."""
        return f"{self.kind} on {self.spec.name}"

    # ------------------------------------------------------------ audio in

    def prepare(self, source, *, sample_rate=None):
        """Preprocessed mono audio at the model's rate from a path, bytes, file object or array.

        An array needs ``sample_rate`` (Hz); it is resampled when it differs from the
        model's rate.
        """
        from ser_core.audio.preprocess import load_clip, preprocess_with, resample, validate

        if isinstance(source, np.ndarray):
            if sample_rate is None:
                raise InputError("an audio array needs sample_rate (Hz); received sample_rate=None")
            y = np.asarray(source, dtype=np.float32)
            if y.ndim == 2:  # (n, channels) as soundfile returns it
                y = y.mean(axis=1)
            y = validate(y, sample_rate=int(sample_rate))
            y = resample(y, orig_sr=int(sample_rate), target_sr=self.sample_rate)
            return preprocess_with(y, settings=self.settings)
        return load_clip(source, settings=self.settings)

    def features(self, source, *, sample_rate=None):
        """The model's features of one clip (preprocessing included); :meth:`stack_features` batches them."""
        from ser_core.features import extract

        return extract(self.prepare(source, sample_rate=sample_rate), spec=self.spec, sample_rate=self.sample_rate)

    def predict_audio(self, source, *, sample_rate=None, speaker=None) -> Prediction:
        """The :class:`Prediction` of one clip (path, bytes, file object, or an array at ``sample_rate`` Hz).

        ``speaker``: one speaker's statistics (:meth:`speaker_stats`) to classify with the
        speaker-adapted head.
        """
        X = self.stack_features([self.features(source, sample_rate=sample_rate)])
        return Prediction.from_proba(self.predict_proba(X, speaker=speaker)[0], labels=self.labels, model=self.name,
                                     source=source_name(source))

    # ------------------------------------------------------------ features in

    def stack_features(self, rows):
        """Per-clip features (each from :meth:`features`) as one batch for :meth:`predict_proba`."""
        return np.stack([np.asarray(row) for row in rows])

    def _scaled(self, probabilities, temperature):
        from ser_core.scoring.temperature import apply_temperature

        return apply_temperature(probabilities, temperature) if temperature != 1.0 else np.asarray(probabilities)

    def predict_proba(self, X, *, speaker=None) -> np.ndarray:
        """Temperature-scaled probabilities ``(clips, labels)`` of a batch of features, in :attr:`labels` order.

        ``speaker``: one speaker's statistics (:meth:`speaker_stats`): the clips are
        classified by the speaker-adapted head, with its own temperature.
        """
        X = _feature_batch(X, what=type(self).__name__)
        if speaker is None:
            return self._scaled(self.estimator.predict_proba(X), self.temperature)
        adapted = self.estimator.predict_proba_for_speaker(self.adaptation_rows(X), speaker)
        return self._scaled(adapted, self.temperature_adapted)

    def predict(self, X, *, speaker=None) -> np.ndarray:
        """The most likely label of each clip of a batch of features."""
        return np.asarray(self.labels)[np.argmax(self.predict_proba(X, speaker=speaker), axis=1)]

    def corpus_features(self, data, *, progress=None, label_map=None):
        """A corpus (folder, zip, manifest or index) as this model's features: a Dataset whose ``X`` :meth:`predict_proba` takes.

        Features are extracted with the model's own preprocessing and feature settings,
        through the feature cache; ``label_map`` renames the corpus's labels (a path only).
        """
        from ser_core.data.dataset import load_dataset

        return load_dataset(data, feature_kind=self.spec.name, settings=self.settings, progress=progress,
                            label_map=label_map)

    # ------------------------------------------------------------ speaker adaptation

    @property
    def supports_speaker_adaptation(self) -> bool:
        """True when the model has a speaker-adapted head (``adaptive_linear`` fitted with speakers)."""
        return getattr(self.estimator, "adapted_", None) is not None

    def adaptation_rows(self, X) -> np.ndarray:
        """The rows ``(clips, values)`` a speaker's statistics are read from, out of a batch of features."""
        self.require_speaker_adaptation()
        X = _feature_batch(X, what=type(self).__name__)
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)

    def speaker_stats(self, X, *, prior_clips):
        """One speaker's statistics from a batch of features of their clips (emotions unknown)."""
        return self.estimator.speaker_stats(self.adaptation_rows(X), prior_clips=prior_clips)

    def require_speaker_adaptation(self):
        """Raise ModelError, naming what can be adapted, when this model cannot be adapted to a speaker."""
        if not self.supports_speaker_adaptation:
            raise ModelError(
                f"model {self.name!r} ({self.kind}) cannot be adapted to a speaker: that needs a speaker-adapted "
                "head, i.e. an adaptive_linear model trained with speakers (or an ensemble holding one, such as the "
                "shipped default)"
            )


@cache
def _member_threads() -> ThreadPoolExecutor:
    """Threads that run an ensemble's members side by side (their feature extraction and inference release the GIL)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="ser-ensemble")


class EnsembleModel(LoadedModel):
    """Members' temperature-scaled probabilities averaged with fixed weights, then scaled again.

    Its features are a dict of each member's features by member name.
    """

    def __init__(self, path, config, metrics, members, *, domains=None):
        self.path = Path(path)
        self.config = config
        self.metrics = metrics
        self.members = members  # [(LoadedModel, weight)]
        self.domains = list(domains) if domains is not None else [None] * len(members)  # [DomainGate or None]
        self.estimator = None
        self.name = config["name"]
        self.labels = [str(label) for label in config["labels"]]
        self.settings = members[0][0].settings
        self.spec = members[0][0].spec
        self.temperature = _temperature(config)
        self.temperature_adapted = _temperature(config, "temperature_adapted")

    def describe(self) -> str:
        """One line: the members and their features."""
        serves = {None: "", "inside": " for clean wide-band recordings", "outside": " for noisy or narrow-band ones"}
        return "ensemble of " + " and ".join(f"{m.kind} on {m.spec.name}{serves[getattr(d, 'serves', None)]}"
                                             for (m, _), d in zip(self.members, self.domains))

    def _decoded(self, source, sample_rate):
        """Decode a file once for every member (mono float32 at the members' rate)."""
        from ser_core.audio.preprocess import load_audio

        if isinstance(source, np.ndarray):
            return source, sample_rate
        return load_audio(source, sample_rate=self.sample_rate), self.sample_rate

    def _member_features(self, y, rate) -> list:
        """Each member's features of one decoded clip, side by side, once per distinct feature kind and preprocessing."""
        keys = [(member.spec.name, member.settings) for member, _ in self.members]
        first = {}
        for key, (member, _) in zip(keys, self.members):
            first.setdefault(key, member)
        rows = _member_threads().map(lambda member: member.features(y, sample_rate=rate), first.values())
        by_key = dict(zip(first, rows))
        return [by_key[key] for key in keys]

    @property
    def gated(self) -> bool:
        """True when a member serves only clips within its training domain (:mod:`ser_core.audio.quality`)."""
        return any(domain is not None for domain in self.domains)

    def admitted(self, quality) -> np.ndarray:
        """``(members, clips)`` booleans: which members average each clip, from ``(clips, 2)`` quality estimates.

        A member without a gate takes every clip; a clip that no member admits is averaged
        by all of them.
        """
        quality = np.atleast_2d(np.asarray(quality, dtype=np.float64))
        admitted = np.array([np.ones(len(quality), dtype=bool) if domain is None else domain.admits(quality)
                             for domain in self.domains])
        admitted[:, ~admitted.any(axis=0)] = True
        return admitted

    def _average(self, parts, *, speaker, admitted=None):
        weights = np.array([weight for _, weight in self.members], dtype=np.float64)[:, None]
        if admitted is not None:
            weights = weights * admitted
        average = np.einsum("mc,mcl->cl", weights / weights.sum(axis=0), np.stack(parts))
        return self._scaled(average, self.temperature if speaker is None else self.temperature_adapted)

    def _quality(self, y, rate) -> np.ndarray:
        """The quality estimates of a decoded clip at the members' rate."""
        from ser_core.audio.preprocess import resample
        from ser_core.audio.quality import estimate_quality

        if rate != self.sample_rate:
            y = resample(np.asarray(y, dtype=np.float32), orig_sr=int(rate), target_sr=self.sample_rate)
        return estimate_quality(y, sample_rate=self.sample_rate).as_array()

    def _left_out_note(self, admitted) -> str | None:
        """Which members a clip's recording kept out of the average, for the prediction's warning."""
        from ser_core.audio.quality import describe_left_out

        left_out = [member.name for (member, _), domain, keep in zip(self.members, self.domains, admitted)
                    if not keep and domain is not None and domain.serves == "inside"]
        return describe_left_out(left_out) if left_out else None

    def _member_speaker(self, member, speaker):
        """The statistics a member is given: the speaker's for each member they were read for, none for the others.

        They are read from the adaptive member's features; another member with a speaker-adapted
        head on the same features and preprocessing (the shipped default's noise-trained head)
        takes them too, so a recording its gate routes there is adapted as well.
        """
        if speaker is None or not member.supports_speaker_adaptation:
            return None
        adaptive = self._adaptive_member()
        return speaker if (member.spec.name, member.settings) == (adaptive.spec.name, adaptive.settings) else None

    def features(self, source, *, sample_rate=None) -> dict:
        """Each member's features of one clip, by member name (the file decoded once).

        A gated ensemble adds the clip's :data:`QUALITY_KEY` estimates (before trimming).
        """
        y, rate = self._decoded(source, sample_rate)
        features = {member.name: row for (member, _), row in zip(self.members, self._member_features(y, rate))}
        if self.gated:
            features[QUALITY_KEY] = self._quality(y, rate)
        return features

    def predict_audio(self, source, *, sample_rate=None, speaker=None) -> Prediction:
        """The :class:`Prediction` of one clip: each member's features and probabilities side by side, averaged.

        A member whose domain gate the recording falls outside is left out, and the
        prediction's ``warning`` says so.
        """
        if speaker is not None:
            self.require_speaker_adaptation()
        y, rate = self._decoded(source, sample_rate)
        parts = [member.predict_proba(member.stack_features([row]), speaker=self._member_speaker(member, speaker))
                 for (member, _), row in zip(self.members, self._member_features(y, rate))]
        admitted = self.admitted(self._quality(y, rate)) if self.gated else None
        proba = self._average(parts, speaker=speaker, admitted=admitted)[0]
        note = self._left_out_note(admitted[:, 0]) if admitted is not None else None
        return Prediction.from_proba(proba, labels=self.labels, model=self.name, source=source_name(source),
                                     warning=note)

    def stack_features(self, rows) -> dict:
        """Per-clip feature dicts as one batch: ``{member name: (clips, ...) array}`` (and the quality estimates)."""
        rows = list(rows)
        batch = {member.name: member.stack_features([row[member.name] for row in rows]) for member, _ in self.members}
        if self.gated:
            batch[QUALITY_KEY] = np.stack([np.asarray(self._by_member(row)[QUALITY_KEY]) for row in rows])
        return batch

    def _by_member(self, X) -> dict:
        names = [member.name for member, _ in self.members] + ([QUALITY_KEY] if self.gated else [])
        if not isinstance(X, dict) or any(name not in X for name in names):
            received = sorted(X) if isinstance(X, dict) else type(X).__name__
            raise InputError(f"an ensemble takes a dict of feature arrays by member name ({', '.join(names)}), "
                             f"as features() and stack_features() make; received {received}")
        return X

    def predict_proba(self, X, *, speaker=None) -> np.ndarray:
        """Probabilities ``(clips, labels)`` for member features ``{member name: batch}``: the weighted mean, scaled again.

        ``speaker``: one speaker's statistics (:meth:`speaker_stats`): the members they were
        read for (:meth:`_member_speaker`) use their speaker-adapted heads, averaged with the
        other members' single-clip probabilities.
        """
        X = self._by_member(X)
        if speaker is not None:
            self.require_speaker_adaptation()
        parts = [member.predict_proba(X[member.name], speaker=self._member_speaker(member, speaker))
                 for member, _ in self.members]
        admitted = self.admitted(X[QUALITY_KEY]) if self.gated else None
        return self._average(parts, speaker=speaker, admitted=admitted)

    def corpus_features(self, data, *, progress=None, label_map=None):
        """A corpus as every member's features: a Dataset whose ``X`` is ``{member name: array}``.

        The corpus is indexed once; a clip is kept when every member could read it.
        """
        from ser_core.data.index import CorpusIndex, index_corpus

        index = data if isinstance(data, CorpusIndex) else index_corpus(data, label_map=label_map)
        parts = [member.corpus_features(index, progress=progress) for member, _ in self.members]
        dataset = _aligned(parts, names=[member.name for member, _ in self.members])
        if self.gated:
            dataset.X[QUALITY_KEY] = self._corpus_quality(dataset)
        return dataset

    def _corpus_quality(self, dataset) -> np.ndarray:
        """The quality estimates of every clip of a dataset, ``(clips, 2)``, decoded side by side."""
        from ser_core.audio.quality import corpus_qualities

        return corpus_qualities(dataset.paths, sample_rate=self.sample_rate, root=dataset.root or None,
                                map_=_member_threads().map)

    def _adaptive_member(self):
        for member, _ in self.members:
            if member.supports_speaker_adaptation:
                return member
        return None

    @property
    def supports_speaker_adaptation(self) -> bool:
        """True when a member has a speaker-adapted head."""
        return self._adaptive_member() is not None

    def adaptation_rows(self, X) -> np.ndarray:
        """The adaptive member's rows of a batch of member features."""
        self.require_speaker_adaptation()
        adaptive = self._adaptive_member()
        return adaptive.adaptation_rows(self._by_member(X)[adaptive.name])

    def speaker_stats(self, X, *, prior_clips):
        """The adaptive member's statistics of one speaker, from a batch of member features of their clips."""
        self.require_speaker_adaptation()
        adaptive = self._adaptive_member()
        return adaptive.speaker_stats(self._by_member(X)[adaptive.name], prior_clips=prior_clips)


def _aligned(parts, *, names):
    """Members' datasets of one corpus as one dataset of the clips they all kept: ``X`` by member name."""
    from dataclasses import fields, replace

    kept = set.intersection(*(set(part.paths) for part in parts))
    paths = [path for path in parts[0].paths if path in kept]
    rows = [{path: i for i, path in enumerate(part.paths)} for part in parts]
    X = {name: part.X[[row[path] for path in paths]] for name, part, row in zip(names, parts, rows)}
    first, order = parts[0], [rows[0][path] for path in paths]
    per_clip = {f.name: getattr(first, f.name)[order] for f in fields(first) if f.name != "X"
                and isinstance(getattr(first, f.name), np.ndarray) and len(getattr(first, f.name)) == len(first.paths)}
    skipped = {item["path"]: item for part in parts for item in part.skipped}
    skipped.update({path: {"path": path, "reason": "another member of the ensemble could not read it"}
                    for part in parts for path in part.paths if path not in kept})
    return replace(first, X=X, paths=paths, feature_kind=" + ".join(part.feature_kind for part in parts),
                   skipped=list(skipped.values()), **per_clip)
