"""A loaded model: give it audio, get calibrated emotion probabilities.

:class:`LoadedModel` wraps one trained estimator with the preprocessing and features it
expects; :class:`EnsembleModel` averages several of them. Both apply the temperature
stored in the model folder (:mod:`ser_core.scoring.temperature`), and both can be calibrated to
one speaker when a member has a speaker-adapted head (:mod:`ser_core.models.speaker_stats`, :mod:`ser_core.serving.speakers`).
Build them with :func:`ser_core.modelfolder.read.load_model`; this module knows nothing of model folders.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from ser_core.errors import InputError, ModelError


def _temperature(config, key="temperature"):
    value = (config.get("calibration") or {}).get(key)
    return float(value) if value else 1.0


class LoadedModel:
    """One trained model with its preprocessing, features and calibration."""

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

    def describe(self) -> str:
        """One line: model and features."""
        return f"{self.kind} on {self.spec.name}"

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
        """The model's features for one clip (preprocessing included)."""
        from ser_core.features import extract

        return extract(self.prepare(source, sample_rate=sample_rate), spec=self.spec, sample_rate=self.sample_rate)

    def _calibrated(self, probabilities, temperature):
        from ser_core.scoring.temperature import apply_temperature

        return apply_temperature(probabilities, temperature) if temperature != 1.0 else np.asarray(probabilities)

    def predict_proba_features(self, X):
        """Calibrated probabilities ``(clips, labels)`` for already-extracted features."""
        return self._calibrated(self.estimator.predict_proba(np.asarray(X)), self.temperature)

    def predict_proba(self, source, *, sample_rate=None):
        """Calibrated class probabilities of one clip, in :attr:`labels` order."""
        return self.predict_proba_features(np.asarray(self.features(source, sample_rate=sample_rate))[None])[0]

    def predict(self, source, *, sample_rate=None):
        """The most likely emotion of one clip."""
        return self.labels[int(np.argmax(self.predict_proba(source, sample_rate=sample_rate)))]

    def probabilities(self, source, *, sample_rate=None):
        """``{label: probability}`` of one clip."""
        return dict(zip(self.labels, map(float, self.predict_proba(source, sample_rate=sample_rate))))

    # ------------------------------------------------------------ speaker adaptation

    @property
    def supports_speaker_adaptation(self) -> bool:
        """True when the model has a speaker-adapted head (``adaptive_linear`` fitted with speakers)."""
        return getattr(self.estimator, "adapted_", None) is not None

    def adaptation_features(self, source, *, sample_rate=None):
        """The feature row a speaker's statistics are estimated from (1-D)."""
        self.require_speaker_adaptation()
        return np.asarray(self.features(source, sample_rate=sample_rate), dtype=np.float64).ravel()

    def speaker_stats(self, X, *, prior_clips):
        """One speaker's statistics from the rows of :meth:`adaptation_features` of their clips."""
        self.require_speaker_adaptation()
        return self.estimator.speaker_stats(np.asarray(X, dtype=np.float64), prior_clips=prior_clips)

    def predict_proba_adapted(self, source, stats, *, sample_rate=None, features=None):
        """Calibrated probabilities of one clip under the speaker-adapted head, for the speaker of ``stats``.

        ``features``: the clip's :meth:`adaptation_features` row when already computed.
        """
        self.require_speaker_adaptation()
        row = self.adaptation_features(source, sample_rate=sample_rate) if features is None else features
        adapted = self.estimator.predict_proba_for_speaker(np.asarray(row, dtype=np.float64)[None], stats)
        return self._calibrated(adapted, self.temperature_adapted)[0]

    def require_speaker_adaptation(self):
        """Raise ModelError, naming what can be calibrated, when this model cannot be."""
        if not self.supports_speaker_adaptation:
            raise ModelError(
                f"model {self.name!r} ({self.kind}) cannot be calibrated to a speaker: that needs a speaker-adapted "
                "head, i.e. an adaptive_linear model trained with speakers (or an ensemble holding one, such as the "
                "shipped default)"
            )


@cache
def _member_threads() -> ThreadPoolExecutor:
    """Threads that run an ensemble's members side by side (their feature extraction and inference release the GIL)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="ser-ensemble")


class EnsembleModel(LoadedModel):
    """Members' calibrated probabilities averaged with fixed weights, then calibrated again."""

    def __init__(self, path, config, metrics, members):
        self.path = Path(path)
        self.config = config
        self.metrics = metrics
        self.members = members  # [(LoadedModel, weight)]
        self.estimator = None
        self.name = config["name"]
        self.labels = [str(label) for label in config["labels"]]
        self.settings = members[0][0].settings
        self.spec = members[0][0].spec
        self.temperature = _temperature(config)
        self.temperature_adapted = _temperature(config, "temperature_adapted")

    def describe(self) -> str:
        """One line: the members and their features."""
        return "ensemble of " + " and ".join(f"{m.kind} on {m.spec.name}" for m, _ in self.members)

    def _decoded(self, source, sample_rate):
        """Decode a file once for every member (mono float32 at the members' rate)."""
        from ser_core.audio.preprocess import load_audio

        if isinstance(source, np.ndarray):
            return source, sample_rate
        return load_audio(source, sample_rate=self.sample_rate), self.sample_rate

    def _each_member(self, call) -> list:
        """``call(member)`` for every member, run side by side; results in member order."""
        return list(_member_threads().map(call, [member for member, _ in self.members]))

    def _average(self, parts):
        weights = np.array([weight for _, weight in self.members], dtype=np.float64)
        return np.tensordot(weights / weights.sum(), np.stack(parts), axes=1)

    def features(self, source, *, sample_rate=None):
        """Each member's features of one clip, by member name."""
        y, rate = self._decoded(source, sample_rate)
        rows = self._each_member(lambda member: member.features(y, sample_rate=rate))
        return {member.name: row for (member, _), row in zip(self.members, rows)}

    def predict_proba_features(self, X):
        """Calibrated probabilities for member features: ``{member name: (clips, ...) array}``."""
        if not isinstance(X, dict):
            raise InputError("an ensemble takes a dict of feature arrays by member name (see features())")
        parts = [member.predict_proba_features(X[member.name]) for member, _ in self.members]
        return self._calibrated(self._average(parts), self.temperature)

    def predict_proba(self, source, *, sample_rate=None):
        """Calibrated class probabilities of one clip: the weighted mean of the members', recalibrated."""
        y, rate = self._decoded(source, sample_rate)
        parts = self._each_member(lambda member: member.predict_proba(y, sample_rate=rate))
        return self._calibrated(self._average(parts)[None], self.temperature)[0]

    def _adaptive_member(self):
        for member, _ in self.members:
            if member.supports_speaker_adaptation:
                return member
        return None

    @property
    def supports_speaker_adaptation(self) -> bool:
        """True when a member has a speaker-adapted head."""
        return self._adaptive_member() is not None

    def adaptation_features(self, source, *, sample_rate=None):
        """The adaptive member's feature row for one clip."""
        self.require_speaker_adaptation()
        return self._adaptive_member().adaptation_features(source, sample_rate=sample_rate)

    def speaker_stats(self, X, *, prior_clips):
        """The adaptive member's statistics of one speaker."""
        self.require_speaker_adaptation()
        return self._adaptive_member().speaker_stats(X, prior_clips=prior_clips)

    def predict_proba_adapted(self, source, stats, *, sample_rate=None, features=None):
        """The adaptive member calibrated to the speaker, averaged with the other members' single-clip figures."""
        self.require_speaker_adaptation()
        y, rate = self._decoded(source, sample_rate)
        adaptive = self._adaptive_member()
        parts = self._each_member(lambda member: member.predict_proba_adapted(y, stats, sample_rate=rate, features=features)
                                  if member is adaptive else member.predict_proba(y, sample_rate=rate))
        return self._calibrated(self._average(parts)[None], self.temperature_adapted)[0]
