"""Pitch and energy contours of one clip, for the dashboard's Feature inspector."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ser_core.audio import dsp
from ser_core.audio.preprocess import validate
from ser_core.features.spectral import TOP_DB


@dataclass(frozen=True)
class PitchEnergy:
    """Frame-wise pitch and energy of a clip: times in s, f0 in Hz (NaN where unvoiced)."""

    times_s: np.ndarray
    f0_hz: np.ndarray
    voiced: np.ndarray
    rms: np.ndarray
    energy_db: np.ndarray


def pitch_energy_contours(
    y: np.ndarray,
    *,
    sample_rate: int,
    fmin_hz: float = 65.0,
    fmax_hz: float = 500.0,
    hop_s: float = 0.016,
    voicing_db: float = 30.0,
) -> PitchEnergy:
    """Return f0 (YIN) and RMS energy contours; a frame is voiced within voicing_db of the loudest.

    YIN (:func:`ser_core.audio.dsp.yin`, librosa's numbers without numba) takes a few
    milliseconds per clip (pYIN would take hundreds), fast enough for the dashboard; voicing is judged from energy, and frames whose f0 sits on the
    search bounds (no clear period) count as unvoiced.
    """
    y = validate(y, sample_rate=sample_rate)
    hop = max(1, int(round(hop_s * sample_rate)))
    frame_length = 1 << max(8, math.ceil(math.log2(2.5 * sample_rate / fmin_hz)))
    padded = np.pad(y, (0, max(0, frame_length - len(y))))
    f0 = dsp.yin(padded, fmin=fmin_hz, fmax=fmax_hz, sample_rate=sample_rate, frame_length=frame_length, hop_length=hop)
    rms = dsp.rms(padded, frame_length=frame_length, hop_length=hop)
    energy_db = dsp.amplitude_to_db(rms, ref=np.max, top_db=TOP_DB)
    n = min(len(f0), len(rms))
    f0, rms, energy_db = f0[:n], rms[:n], energy_db[:n]
    voiced = (energy_db > -voicing_db) & (f0 > fmin_hz * 1.01) & (f0 < fmax_hz * 0.99)
    return PitchEnergy(
        times_s=np.arange(n) * hop / sample_rate,
        f0_hz=np.where(voiced, f0, np.nan).astype(np.float32),
        voiced=voiced,
        rms=rms.astype(np.float32),
        energy_db=energy_db.astype(np.float32),
    )
