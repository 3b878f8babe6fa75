"""Training-time augmentation of preprocessed clips (issues 5 and 19).

Speed perturbation as in Kaldi: playing a clip back ``factor`` times faster changes
tempo and pitch together (a crude vocal-tract-length change), so a model trained on
the copies sees more voices than the corpus has actors. Pitch shifting (tempo kept) and
time stretching (pitch kept) separate the two. The corruptions of
:mod:`ser_core.audio.corrupt` (noise, reverberation, telephone band, lossy codec) make
copies that sound like real-world recordings. Applied to training clips only; each
augmentation has a ``key`` that names it in model cards and ``--augment``, and a
``cache_key`` that names it in the feature cache.

=================  =====================================================  ======================
key                copy                                                   class
=================  =====================================================  ======================
``speed0.9``       played 0.9 times as fast (0.5..2)                      SpeedPerturbation
``pitch-2``        2 semitones lower, same tempo (-12..12)                PitchShift
``noise10``        pink noise at 10 dB SNR (-20..80)                      AddedNoise
``whitenoise10``   white noise at 10 dB SNR                               AddedNoise
``reverb0.4``      a synthetic room with RT60 0.4 s (0.05..5)             Reverberation
``telephone``      300-3400 Hz at 8 kHz and back                          TelephoneBand
``opus-16k``       Opus at 16 kbit/s and back (also ``mp3-24k``)          CodecRoundTrip
=================  =====================================================  ======================

Pitch shifting needs librosa, which only requirements-train.txt installs: without it,
:func:`missing_training_package` names it and making a ``pitchN`` copy raises InputError.

Copies with random noise or rooms are deterministic: the seed comes from the clip's own
samples and the key, so a copy extracted twice (or on another worker) is the same and
its cached features stay valid.

Examples
--------
>>> from ser_core.audio.augment import parse_augmentations
>>> [a.key for a in parse_augmentations("speed0.9,noise10,telephone")]
['speed0.9', 'noise10', 'telephone']
"""

import hashlib
import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ser_core.audio import corrupt
from ser_core.audio.corrupt import match_peak
from ser_core.audio.preprocess import resample
from ser_core.errors import InputError

#: Bumped when a corruption's algorithm changes, so cached features of older copies are not reused.
CORRUPTION_VERSION = 1

MIN_FACTOR, MAX_FACTOR = 0.5, 2.0
MAX_SEMITONES = 12.0


def _checked_number(value, *, what: str, low: float, high: float) -> float:
    """Return ``value`` as a float, or raise InputError naming ``what`` unless it is a number in low..high."""
    is_number = not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))
    if not (is_number and np.isfinite(value) and low <= value <= high):
        raise InputError(f"{what} is {value!r}; expected a number in {low:g}..{high:g}")
    return float(value)


@dataclass(frozen=True)
class SpeedPerturbation:
    """Play a clip back ``factor`` times faster (0.9: slower and lower, 1.1: faster and higher)."""

    factor: float

    def __post_init__(self):
        factor = _checked_number(self.factor, what="speed factor", low=MIN_FACTOR, high=MAX_FACTOR)
        object.__setattr__(self, "factor", factor)

    @property
    def key(self) -> str:
        """A short stable name for cache keys and model cards, e.g. ``speed0.9``."""
        return f"speed{self.factor:g}"

    def __call__(self, y: np.ndarray, *, sample_rate: int) -> np.ndarray:
        """Return the perturbed copy of a mono clip at the same nominal sample rate and peak."""
        y = np.asarray(y, dtype=np.float32)
        if self.factor == 1.0:
            return y
        return match_peak(resample(y, orig_sr=sample_rate, target_sr=int(round(sample_rate / self.factor))), y)

    @property
    def cache_key(self) -> str:
        """The name of this copy's features in the cache (the key itself)."""
        return self.key


@dataclass(frozen=True)
class PitchShift:
    """Shift pitch by ``semitones`` keeping the tempo (librosa phase vocoder + soxr resampling)."""

    semitones: float
    #: librosa makes the copy; only requirements-train.txt installs it (the hosted install has none).
    package: ClassVar[str] = "librosa"

    def __post_init__(self):
        semitones = _checked_number(self.semitones, what="pitch shift (semitones)", low=-MAX_SEMITONES,
                                    high=MAX_SEMITONES)
        object.__setattr__(self, "semitones", semitones)

    @property
    def key(self) -> str:
        """A short stable name, e.g. ``pitch-2``."""
        return f"pitch{self.semitones:g}"

    def __call__(self, y: np.ndarray, *, sample_rate: int) -> np.ndarray:
        """Return the pitch-shifted copy of a mono clip (same length and peak)."""
        y = np.asarray(y, dtype=np.float32)
        if self.semitones == 0:
            return y
        require_installed(self)
        import librosa

        return match_peak(librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=self.semitones, res_type="soxr_hq"), y)

    @property
    def cache_key(self) -> str:
        """The name of this copy's features in the cache (the key itself)."""
        return self.key


def clip_seed(y: np.ndarray, key: str) -> int:
    """A seed drawn from a clip's samples and an augmentation key: the same clip and key always give the same copy."""
    digest = hashlib.blake2b(np.ascontiguousarray(y, dtype=np.float32).tobytes(), digest_size=8, person=b"ser-augment")
    digest.update(key.encode())
    return int.from_bytes(digest.digest(), "little")


class _Corruption:
    """What every corruption copy shares: a versioned cache key and the output scaled to the clip's peak."""

    @property
    def cache_key(self) -> str:
        """The key plus the corruption algorithms' version."""
        return f"{self.key}-c{CORRUPTION_VERSION}"

    def __call__(self, y: np.ndarray, *, sample_rate: int) -> np.ndarray:
        """Return the corrupted copy of a mono clip at the same sample rate and peak."""
        y = np.asarray(y, dtype=np.float32)
        return match_peak(self._corrupt(y, sample_rate=sample_rate), y)


@dataclass(frozen=True)
class AddedNoise(_Corruption):
    """Noise at ``snr_db`` dB signal-to-noise ratio: ``pink`` (key ``noise10``) or ``white`` (``whitenoise10``)."""

    snr_db: float
    noise: str = "pink"

    def __post_init__(self):
        snr_db = _checked_number(self.snr_db, what="noise SNR (dB)", low=corrupt.MIN_SNR_DB, high=corrupt.MAX_SNR_DB)
        object.__setattr__(self, "snr_db", snr_db)
        if self.noise not in ("pink", "white"):
            raise InputError(f"augmentation noise is {self.noise!r}; expected 'pink' or 'white' "
                             "(babble needs other clips: ser_core.audio.corrupt.add_noise)")

    @property
    def key(self) -> str:
        """``noise10`` (pink) or ``whitenoise10``."""
        return f"{'noise' if self.noise == 'pink' else 'whitenoise'}{self.snr_db:g}"

    def _corrupt(self, y, *, sample_rate):
        return corrupt.add_noise(y, snr_db=self.snr_db, noise=self.noise, random_state=clip_seed(y, self.key))


@dataclass(frozen=True)
class Reverberation(_Corruption):
    """A synthetic room with reverberation time ``rt60_s`` seconds (key ``reverb0.4``); the tail lengthens the copy."""

    rt60_s: float

    def __post_init__(self):
        rt60_s = _checked_number(self.rt60_s, what="reverberation RT60 (s)", low=corrupt.MIN_RT60_S,
                                 high=corrupt.MAX_RT60_S)
        object.__setattr__(self, "rt60_s", rt60_s)

    @property
    def key(self) -> str:
        """``reverb0.4``."""
        return f"reverb{self.rt60_s:g}"

    def _corrupt(self, y, *, sample_rate):
        return corrupt.reverberate(y, rt60_s=self.rt60_s, sample_rate=sample_rate, random_state=clip_seed(y, self.key))


@dataclass(frozen=True)
class TelephoneBand(_Corruption):
    """The 300-3400 Hz telephone band at 8 kHz and back (key ``telephone``)."""

    @property
    def key(self) -> str:
        """``telephone``."""
        return "telephone"

    def _corrupt(self, y, *, sample_rate):
        return corrupt.telephone_band(y, sample_rate=sample_rate)


@dataclass(frozen=True)
class CodecRoundTrip(_Corruption):
    """A lossy codec round trip at ``bitrate_kbps`` kbit/s (key ``opus-16k``, ``mp3-24k``)."""

    codec: str = "opus"
    bitrate_kbps: float = 16.0

    def __post_init__(self):
        if self.codec not in corrupt.CODECS:
            raise InputError(f"codec is {self.codec!r}; expected one of {', '.join(corrupt.CODECS)}")
        bitrate = _checked_number(self.bitrate_kbps, what="codec bit rate (kbit/s)", low=corrupt.MIN_BITRATE_KBPS,
                                  high=corrupt.MAX_BITRATE_KBPS)
        object.__setattr__(self, "bitrate_kbps", bitrate)

    @property
    def key(self) -> str:
        """``opus-16k``: the codec and its bit rate in kbit/s."""
        return f"{self.codec}-{self.bitrate_kbps:g}k"

    def _corrupt(self, y, *, sample_rate):
        return corrupt.codec_round_trip(y, sample_rate=sample_rate, codec=self.codec, bitrate_kbps=self.bitrate_kbps)


#: Augmentations offered by the Training page (the shipped default uses speed copies).
SUGGESTED_AUGMENTATIONS = ("speed0.85", "speed0.9", "speed0.95", "speed1.05", "speed1.1", "speed1.15",
                           "pitch-2", "pitch2", "noise20", "noise10", "reverb0.4", "telephone", "opus-16k")

_NUMBER = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)"
#: key pattern -> builder from the pattern's groups
_KEYS = (
    (re.compile(rf"speed{_NUMBER}"), lambda v: SpeedPerturbation(float(v))),
    (re.compile(rf"pitch{_NUMBER}"), lambda v: PitchShift(float(v))),
    (re.compile(rf"noise{_NUMBER}"), lambda v: AddedNoise(float(v), "pink")),
    (re.compile(rf"whitenoise{_NUMBER}"), lambda v: AddedNoise(float(v), "white")),
    (re.compile(rf"reverb{_NUMBER}"), lambda v: Reverberation(float(v))),
    (re.compile(r"telephone"), lambda: TelephoneBand()),
    (re.compile(rf"({'|'.join(corrupt.CODECS)})-{_NUMBER}k"), lambda codec, v: CodecRoundTrip(codec, float(v))),
)


def parse_augmentation(key: str):
    """Build an augmentation from its key: ``speed0.9``, ``pitch-2``, ``noise10``, ``reverb0.4``, ``telephone``, ..."""
    if not isinstance(key, str):
        raise InputError(f"augmentation key is {key!r}; expected a string such as 'speed0.9'")
    key = key.strip()
    for pattern, build in _KEYS:
        match = pattern.fullmatch(key)
        if match:
            return build(*match.groups())
    raise InputError(f"unknown augmentation {key!r}; expected e.g. 'speed0.9' (speed factor), 'pitch-2' (semitones), "
                     "'noise10' or 'whitenoise10' (SNR in dB), 'reverb0.4' (RT60 in s), 'telephone', 'opus-16k' or "
                     "'mp3-24k' (codec at kbit/s)")


def parse_augmentations(text: str) -> tuple:
    """Parse ``"speed0.9,speed1.1"`` into augmentations (an empty string means none), without repeats."""
    augmentations = tuple(parse_augmentation(item) for item in text.split(",") if item.strip())
    if len(set(augmentations)) != len(augmentations):
        raise InputError(f"augmentations repeat in {text!r}; name each once")
    return augmentations


def missing_training_package(augmentation) -> str | None:
    """The package an augmentation (or its key) needs that is not installed here, or None.

    As :func:`ser_core.models.registry.missing_training_package` for models: the hosted
    install (requirements.txt) lacks what requirements-train.txt adds (librosa, for ``pitchN``).
    """
    from ser_core.models.registry import missing_package

    if isinstance(augmentation, str):
        augmentation = parse_augmentation(augmentation)
    return missing_package(getattr(augmentation, "package", None))


def require_installed(augmentation):
    """Return ``augmentation``; InputError naming requirements-train.txt when it needs a package not installed here."""
    from ser_core.models.registry import require_training_package

    require_training_package(getattr(augmentation, "package", None), what=f"augmentation {augmentation.key!r}")
    return augmentation
