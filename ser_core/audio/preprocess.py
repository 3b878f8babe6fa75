"""Prepare speech for features: validate, remove DC, trim silence, peak-normalise.

The defaults reproduce the study's preprocessing: load at 16 kHz (mono, high-quality
soxr resampling, :mod:`ser_core.audio.decode`), trim leading/trailing silence at 20 dB below
the peak (librosa's ``effects.trim`` rule, :func:`ser_core.audio.dsp.trim`: 2048-sample frames, hop 512) and peak-normalise, with
one step added before trimming: the DC offset (the clip's mean) is removed, so a
constant offset can neither change a prediction nor make a flat signal look like sound.
:func:`clip_problem` is the one rule, shared by corpus indexing and feature extraction,
for whether a clip can be used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ser_core.audio.decode import (AUDIO_SUFFIXES, AudioInfo, AudioSource, TruncatedAudioWarning, iter_chunks,
                                   load_audio, probe, resample)
from ser_core.errors import (
    AudioError,
    EmptyAudioError,
    InputError,
    InvalidSamplesError,
    SilentAudioError,
    TooShortError,
)

#: Peak amplitude below which a signal counts as silence (-80 dBFS, about 3 LSB at 16 bit).
SILENCE_FLOOR = 1e-4
_TRIM_FRAME_LENGTH = 2048
_TRIM_HOP_LENGTH = 512


@dataclass(frozen=True)
class PreprocessSettings:
    """How a clip is prepared before feature extraction (the study's defaults).

    Parameters
    ----------
    sample_rate : int
        Target sample rate in Hz.
    top_db : float or None
        Trim threshold in dB below the clip's peak; None disables trimming.
    normalize : bool
        Peak-normalise to a maximum absolute amplitude of 1.
    min_duration_s : float
        Shortest clip accepted after trimming, in seconds.
    remove_dc : bool
        Subtract the clip's mean before trimming. Model folders written before this
        step existed have no such key and load with ``remove_dc=False``
        (:meth:`from_dict`), so they keep the preprocessing they were trained with.
    """

    sample_rate: int = 16000
    top_db: float | None = 20.0
    normalize: bool = True
    min_duration_s: float = 0.1
    remove_dc: bool = True

    def __post_init__(self):
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, (int, np.integer)):
            raise InputError(f"sample_rate must be an integer number of Hz, got {self.sample_rate!r}")
        if not 1000 <= self.sample_rate <= 384000:
            raise InputError(f"sample_rate is {self.sample_rate} Hz; expected 1000..384000 Hz")
        if self.top_db is not None and not (np.isfinite(self.top_db) and self.top_db > 0):
            raise InputError(f"top_db is {self.top_db!r}; expected a positive number of dB or None")
        if not (np.isfinite(self.min_duration_s) and self.min_duration_s >= 0):
            raise InputError(f"min_duration_s is {self.min_duration_s!r}; expected >= 0 s")
        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        object.__setattr__(self, "top_db", None if self.top_db is None else float(self.top_db))
        object.__setattr__(self, "normalize", bool(self.normalize))
        object.__setattr__(self, "min_duration_s", float(self.min_duration_s))
        object.__setattr__(self, "remove_dc", bool(self.remove_dc))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PreprocessSettings":
        """Build settings from :meth:`to_dict` output; unknown keys are an error.

        Settings saved before DC removal existed (no ``remove_dc`` key) mean ``remove_dc=False``.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown preprocessing settings {unknown}; expected keys among {sorted(known)}")
        return cls(**{"remove_dc": False, **data})

    @property
    def key(self) -> str:
        """A short stable string naming these settings (used in cache keys)."""
        top = "none" if self.top_db is None else f"{self.top_db:g}"
        key = f"sr{self.sample_rate}-top{top}-norm{int(self.normalize)}-min{self.min_duration_s:g}"
        return key + "-dc1" if self.remove_dc else key  # without the step: the key it always had

def validate(y: np.ndarray, *, sample_rate: int) -> np.ndarray:
    """Check that y is usable mono audio; return it as float32 or raise an AudioError."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(f"audio has shape {y.shape}; expected mono samples of shape (n_samples,)")
    if y.size == 0:
        raise EmptyAudioError("audio has 0 samples; expected at least one")
    if not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
        raise AudioError(f"audio has dtype {y.dtype}; expected real floating-point samples")
    y = y.astype(np.float32, copy=False)
    finite = np.isfinite(y)
    if not finite.all():
        bad = int(y.size - finite.sum())
        raise InvalidSamplesError(f"{bad} of {y.size} samples are NaN or infinite; expected finite values")
    peak = float(np.max(np.abs(y)))
    if peak < SILENCE_FLOOR:
        raise SilentAudioError(
            f"audio of {y.size / sample_rate:.2f} s is silent (peak amplitude {peak:.1e}); "
            f"expected a peak of at least {SILENCE_FLOOR:.0e} (-80 dBFS)"
        )
    return y


def preprocess(
    y: np.ndarray,
    *,
    sample_rate: int,
    top_db: float | None = 20.0,
    normalize: bool = True,
    min_duration_s: float = 0.1,
    remove_dc: bool = True,
) -> np.ndarray:
    """Remove DC, trim silence at ``top_db`` and peak-normalise (the study's steps plus DC removal).

    Raises :class:`EmptyAudioError`, :class:`InvalidSamplesError`,
    :class:`SilentAudioError` (also for a signal that is constant once its mean is
    removed) or :class:`TooShortError` (shorter than ``min_duration_s`` seconds after
    trimming).

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> y = preprocess(0.5 + 0.1 * np.sin(2 * np.pi * 220 * t), sample_rate=16000)
    >>> round(float(np.max(np.abs(y))), 3), abs(float(y.mean())) < 1e-3
    (1.0, True)
    """
    from ser_core.audio.dsp import trim

    y = validate(y, sample_rate=sample_rate)
    if remove_dc:
        try:
            y = validate(y - np.float32(np.mean(y, dtype=np.float64)), sample_rate=sample_rate)
        except SilentAudioError:
            raise SilentAudioError(f"audio of {y.size / sample_rate:.2f} s holds no sound: it is constant "
                                   "(a DC offset only) once its mean is removed") from None
    if top_db is not None:
        y = trim(y, top_db=top_db, frame_length=_TRIM_FRAME_LENGTH, hop_length=_TRIM_HOP_LENGTH)
    duration_s = y.size / sample_rate
    if duration_s < min_duration_s:
        where = f" after trimming silence at {top_db:g} dB" if top_db is not None else ""
        raise TooShortError(f"audio lasts {duration_s:.3f} s{where}; at least {min_duration_s:g} s is expected")
    if normalize:
        y = y / np.max(np.abs(y))
    return np.ascontiguousarray(y, dtype=np.float32)


def preprocess_with(y: np.ndarray, *, settings: PreprocessSettings) -> np.ndarray:
    """Apply :func:`preprocess` with every step of ``settings`` (audio already at its rate)."""
    return preprocess(
        y,
        sample_rate=settings.sample_rate,
        top_db=settings.top_db,
        normalize=settings.normalize,
        min_duration_s=settings.min_duration_s,
        remove_dc=settings.remove_dc,
    )


def load_clip(
    source: AudioSource,
    *,
    settings: PreprocessSettings = PreprocessSettings(),
    max_duration_s: float | None = None,
) -> np.ndarray:
    """Load and preprocess one clip as ``settings`` say (by default the study's steps plus DC removal)."""
    y = load_audio(source, sample_rate=settings.sample_rate, max_duration_s=max_duration_s)
    return preprocess_with(y, settings=settings)


def clip_problem(source: AudioSource, *, settings: PreprocessSettings = PreprocessSettings()) -> str | None:
    """Why a clip cannot be used (undecodable, silent, non-finite, too short), or None when it can.

    The one validity rule: corpus indexing skips a clip for exactly the reasons feature
    extraction would refuse it.
    """
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncatedAudioWarning)
            load_clip(source, settings=settings)
    except AudioError as error:
        return str(error)
    return None
