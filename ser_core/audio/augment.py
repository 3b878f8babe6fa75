"""Training-time augmentation of preprocessed clips (issue 5).

Speed perturbation as in Kaldi: playing a clip back ``factor`` times faster changes
tempo and pitch together (a crude vocal-tract-length change), so a model trained on
the copies sees more voices than the corpus has actors. Pitch shifting (tempo kept) and
time stretching (pitch kept) separate the two. Applied to training clips only; each
augmentation has a ``key`` that names it in feature-cache keys and model cards.
"""

from dataclasses import dataclass

import numpy as np

from ser_core.audio.preprocess import resample
from ser_core.errors import InputError

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
        return _match_peak(resample(y, orig_sr=sample_rate, target_sr=int(round(sample_rate / self.factor))), y)


def _match_peak(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Scale ``out`` to the peak amplitude of ``y`` (float32, contiguous)."""
    peak_in, peak_out = float(np.max(np.abs(y))), float(np.max(np.abs(out)))
    if peak_out > 0:
        out = out * (peak_in / peak_out)
    return np.ascontiguousarray(out, dtype=np.float32)


@dataclass(frozen=True)
class PitchShift:
    """Shift pitch by ``semitones`` keeping the tempo (librosa phase vocoder + soxr resampling)."""

    semitones: float

    def __post_init__(self):
        semitones = _checked_number(self.semitones, what="pitch shift (semitones)", low=-MAX_SEMITONES, high=MAX_SEMITONES)
        object.__setattr__(self, "semitones", semitones)

    @property
    def key(self) -> str:
        """A short stable name, e.g. ``pitch-2``."""
        return f"pitch{self.semitones:g}"

    def __call__(self, y: np.ndarray, *, sample_rate: int) -> np.ndarray:
        """Return the pitch-shifted copy of a mono clip (same length and peak)."""
        import librosa

        y = np.asarray(y, dtype=np.float32)
        if self.semitones == 0:
            return y
        return _match_peak(librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=self.semitones, res_type="soxr_hq"), y)


#: Augmentations offered by the Training page (the shipped default uses speed copies).
SUGGESTED_AUGMENTATIONS = ("speed0.85", "speed0.9", "speed0.95", "speed1.05", "speed1.1", "speed1.15", "pitch-2", "pitch2")


def parse_augmentation(key: str):
    """Build an augmentation from its key: ``speed0.9`` or ``pitch-2``."""
    key = key.strip()
    for prefix, kind in (("speed", SpeedPerturbation), ("pitch", PitchShift)):
        if key.startswith(prefix):
            try:
                return kind(float(key[len(prefix):]))
            except ValueError:
                break
    raise InputError(f"unknown augmentation {key!r}; expected e.g. 'speed0.9' (speed factor) or 'pitch-2' (semitones)")


def parse_augmentations(text: str) -> tuple:
    """Parse ``"speed0.9,speed1.1"`` into augmentations (an empty string means none), without repeats."""
    augmentations = tuple(parse_augmentation(item) for item in text.split(",") if item.strip())
    if len(set(augmentations)) != len(augmentations):
        raise InputError(f"augmentations repeat in {text!r}; name each once")
    return augmentations
