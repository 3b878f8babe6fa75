"""How clean and how wide-band a recording is, and whether it lies within a model's training domain.

Two estimates of a decoded clip (before trimming, so its pauses and silences count):

* ``snr_db``: the loud frames' power over the quiet frames' (95th over 5th percentile of
  25-ms frame powers), an estimate of the signal-to-noise ratio. Studio speech with
  silences scores 40 dB and more; added noise at 20 dB SNR brings it down to about 20 dB.
* ``high_band_db``: the share of the clip's energy above 4.2 kHz, in dB. Speech recorded at
  16 kHz or more puts -15..-40 dB there; a telephone line, an 8-kHz recording or a
  resampling through 8 kHz leaves next to nothing (below -60 dB).

A :class:`DomainGate` holds the lowest values a model was trained on; an ensemble leaves a
member out of the average for a clip outside its gate (:mod:`ser_core.modelfolder.loaded`).

Examples
--------
>>> import numpy as np
>>> tone = np.sin(np.linspace(0, 2000 * np.pi, 16000)).astype(np.float32)
>>> round(estimate_quality(tone, sample_rate=16000).high_band_db) < -60
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ser_core.errors import InputError

FRAME_S, HOP_S = 0.025, 0.010
LOUD_PERCENTILE, QUIET_PERCENTILE = 95, 5
HIGH_BAND_HZ = 4200.0
#: Floors that keep digital silence finite (powers and energy shares, in dB).
POWER_FLOOR_DB, SHARE_FLOOR_DB = -120.0, -120.0
#: What a gated member serves: the clips inside its gate, or those outside it.
SERVES = ("inside", "outside")
#: The quantities of :class:`RecordingQuality`, in the order of its array form.
QUANTITIES = ("snr_db", "high_band_db")


@dataclass(frozen=True)
class RecordingQuality:
    """Estimated SNR and high-band level of one clip (dB); ``high_band_db`` is NaN below 12 kHz sampling."""

    snr_db: float
    high_band_db: float

    def as_array(self) -> np.ndarray:
        """The estimates as a float32 vector in :data:`QUANTITIES` order."""
        return np.array([self.snr_db, self.high_band_db], dtype=np.float32)


#: Frames analysed at once: a 10-minute clip's 60,000 frames would take about 300 MB in one go.
BLOCK_FRAMES = 2048


def _frame_statistics(y: np.ndarray, sample_rate: int, *, spectrum: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Each non-padded Hann-windowed frame's mean power, and (``spectrum``) their power spectra summed.

    Frames are taken :data:`BLOCK_FRAMES` at a time, so memory stays bounded for any length;
    a clip shorter than one frame is padded to one.
    """
    length, hop = int(FRAME_S * sample_rate), int(HOP_S * sample_rate)
    if len(y) < length:
        y = np.pad(y, (0, length - len(y)))
    window = np.hanning(length).astype(np.float32)
    starts = np.arange(0, len(y) - length + 1, hop)
    powers, summed = [], np.zeros(length // 2 + 1) if spectrum else None
    for block in range(0, len(starts), BLOCK_FRAMES):
        frames = y[starts[block:block + BLOCK_FRAMES, None] + np.arange(length)] * window
        powers.append(np.mean(frames ** 2, axis=1))
        if spectrum:
            summed += np.sum(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    return np.concatenate(powers), summed


def estimate_quality(y, *, sample_rate: int) -> RecordingQuality:
    """The :class:`RecordingQuality` of a mono clip (any length; the clip's mean is removed first)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or len(y) == 0:
        raise InputError(f"quality needs a non-empty mono clip; received shape {y.shape}")
    wide_band = sample_rate >= 3 * HIGH_BAND_HZ
    powers, spectrum = _frame_statistics(y - y.mean(), sample_rate, spectrum=wide_band)
    power_db = 10 * np.log10(np.maximum(powers, 10 ** (POWER_FLOOR_DB / 10)))
    snr_db = float(np.percentile(power_db, LOUD_PERCENTILE) - np.percentile(power_db, QUIET_PERCENTILE))
    if not wide_band:
        return RecordingQuality(snr_db=snr_db, high_band_db=float("nan"))
    frequencies = np.fft.rfftfreq(int(FRAME_S * sample_rate), d=1.0 / sample_rate)
    share = spectrum[frequencies >= HIGH_BAND_HZ].sum() / max(spectrum.sum(), 1e-30)
    high_band_db = float(10 * np.log10(max(share, 10 ** (SHARE_FLOOR_DB / 10))))
    return RecordingQuality(snr_db=snr_db, high_band_db=high_band_db)


@dataclass(frozen=True)
class DomainGate:
    """The lowest SNR and high-band level (dB) a model was trained on; clips below either are outside.

    ``serves``: ``"inside"`` (a member for clean wide-band recordings) or ``"outside"`` (one for
    the recordings the inside members are kept from).
    """

    min_snr_db: float
    min_high_band_db: float
    serves: str = "inside"

    def __post_init__(self):
        for name in ("min_snr_db", "min_high_band_db"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise InputError(f"a domain gate's {name} must be a finite number of dB; received {value!r}")
        if self.serves not in SERVES:
            raise InputError(f"a domain gate serves {' or '.join(SERVES)}; received {self.serves!r}")

    def inside(self, quality) -> np.ndarray:
        """True for each row of ``quality`` (``(clips, 2)`` in :data:`QUANTITIES` order) at or above both thresholds.

        A NaN high-band level (a clip sampled below 12 kHz) counts as outside: nothing above
        4.2 kHz was recorded.
        """
        quality = np.atleast_2d(np.asarray(quality, dtype=np.float64))
        with np.errstate(invalid="ignore"):
            return (quality[:, 0] >= self.min_snr_db) & (quality[:, 1] >= self.min_high_band_db)

    def admits(self, quality) -> np.ndarray:
        """True for each clip the gated member serves: those inside, or those outside for ``serves="outside"``."""
        inside = self.inside(quality)
        return inside if self.serves == "inside" else ~inside

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, entry) -> DomainGate:
        """A gate from a model folder's config (``serves`` optional, as first written); a clear error for anything else."""
        required = {"min_snr_db", "min_high_band_db"}
        if not isinstance(entry, dict) or not required <= set(entry) <= required | {"serves"}:
            raise InputError(f"a domain gate has min_snr_db, min_high_band_db and optionally serves; received {entry!r}")
        return cls(**entry)

    def describe(self) -> str:
        """One line for cards and screens."""
        bounds = (f"estimated SNR at least {self.min_snr_db:.0f} dB and energy above {HIGH_BAND_HZ / 1000:.1f} kHz "
                  f"at least {self.min_high_band_db:.0f} dB of the clip's")
        return bounds if self.serves == "inside" else f"recordings failing either of: {bounds}"


def gate_from_clips(qualities, *, percentile: float = 1.0) -> DomainGate:
    """The gate whose thresholds are the ``percentile``-th percentile of each estimate over a model's training clips."""
    qualities = np.asarray(qualities, dtype=np.float64)
    if qualities.ndim != 2 or qualities.shape[1] != len(QUANTITIES) or len(qualities) == 0:
        raise InputError(f"expected (clips, {len(QUANTITIES)}) quality estimates; received shape {qualities.shape}")
    low = np.nanpercentile(qualities, percentile, axis=0)
    return DomainGate(min_snr_db=round(float(low[0]), 2), min_high_band_db=round(float(low[1]), 2))


#: Below this much sound a clip is too short to carry an emotion (a syllable or two).
MIN_SPEECH_S = 0.5
#: Speech rises and falls by tens of dB between syllables and pauses; steady noise or a tone by a few.
MIN_CONTRAST_DB = 6.0


def speech_doubt(y, *, sample_rate: int) -> str | None:
    """Why a decoded mono clip may not be speech a verdict can describe, or None.

    Two cues, neither a speech detector: the clip lasts under :data:`MIN_SPEECH_S`, or its
    loud and quiet frames differ by under :data:`MIN_CONTRAST_DB` (steady noise, a hum or a
    tone, or speech buried in noise).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> speech_doubt(rng.normal(size=32000).astype(np.float32), sample_rate=16000)[:26]
    'Its loud and quiet parts d'
    >>> speech_doubt(np.zeros(800, dtype=np.float32), sample_rate=16000)[:26]
    'It lasts 0.05 s: too short'
    """
    duration_s = len(y) / sample_rate
    if duration_s < MIN_SPEECH_S:
        return (f"It lasts {duration_s:.2f} s: too short to carry an emotion (at least {MIN_SPEECH_S:g} s of speech "
                "is needed), so a verdict means little.")
    contrast = estimate_quality(y, sample_rate=sample_rate).snr_db
    if contrast < MIN_CONTRAST_DB:
        return (f"Its loud and quiet parts differ by only {contrast:.0f} dB (speech rises and falls by 20 dB and more): "
                "it sounds like steady noise, a hum or a tone rather than speech, or like speech buried in noise. "
                "A verdict means little.")
    return None


def describe_left_out(members) -> str:
    """The note a prediction carries when a recording kept ``members`` out of an ensemble's average."""
    names = " and ".join(f"'{name}'" for name in members)
    return (f"This recording is unlike the studio recordings {names} learned from: less contrast between speech "
            f"and pauses, or less energy above {HIGH_BAND_HZ / 1000:.1f} kHz (as with background noise, a telephone "
            f"line, another microphone or room). The ensemble left {'it' if len(members) == 1 else 'them'} out and "
            "its other members decided; the recording may still be clean.")


def corpus_qualities(paths, *, sample_rate: int, root=None, map_=map) -> np.ndarray:
    """``(clips, 2)`` quality estimates of audio files (relative paths under ``root``), decoded at ``sample_rate``.

    ``map_``: a map function to decode side by side (e.g. a thread pool's ``map``).
    """
    from pathlib import Path

    from ser_core.audio.decode import load_audio

    def one(path):
        path = Path(path) if root is None or Path(path).is_absolute() else Path(root) / path
        return estimate_quality(load_audio(path, sample_rate=sample_rate), sample_rate=sample_rate).as_array()

    rows = list(map_(one, paths))
    return np.stack(rows) if rows else np.zeros((0, len(QUANTITIES)), dtype=np.float32)
