"""The study's matrices (MFCC, delta, delta-delta, mel dB) and log-mel spectrograms, from one STFT."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ser_core.audio import dsp
from ser_core.audio.preprocess import validate
from ser_core.features.names import (
    MFCC_SOURCE_MELS,
    STUDY_HOP_LENGTH,
    STUDY_N_FFT,
    STUDY_N_MELS,
    FeatureSpec,
    _check_int,
)

#: Floor of every dB matrix below the clip's maximum (librosa's top_db).
TOP_DB = 80.0




@lru_cache(maxsize=16)
def _savgol_operators(width: int, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear maps of a Savitzky-Golay derivative filter (polyorder = deriv = order).

    A least-squares polynomial fit over a window is linear in the window's samples, so
    the derivative at the centre (interior frames) and at the first/last ``width // 2``
    positions (scipy's ``mode="interp"`` edge fits) are fixed weight vectors.
    """
    positions = np.arange(width, dtype=np.float64)
    fit = np.linalg.pinv(np.vander(positions, order + 1, increasing=True))  # (order+1, width)

    def derivative_at(t):
        return [math.perm(k, order) * t ** (k - order) if k >= order else 0.0 for k in range(order + 1)]

    half = width // 2
    centre = np.array(derivative_at(positions[half])) @ fit
    left = np.array([derivative_at(t) for t in positions[:half]]) @ fit
    right = np.array([derivative_at(t) for t in positions[width - half :]]) @ fit
    return centre, left, right


def _delta(data: np.ndarray, *, order: int, width: int = 9) -> np.ndarray:
    """librosa's ``feature.delta`` (Savitzky-Golay, width 9, mode "interp") as three matrix products.

    Same numbers as librosa to float32 rounding, without scipy's per-call edge
    polynomial fits (a third of the study vector's cost). Clips with fewer than
    ``width`` frames use the widest odd window that fits (librosa would refuse them).
    """
    n = data.shape[-1]
    if n < width:
        width = n if n % 2 else n - 1
        if width <= order:
            return np.zeros_like(data)
    centre, left, right = _savgol_operators(width, order)
    half = width // 2
    windows = np.lib.stride_tricks.sliding_window_view(data, width, axis=-1)
    out = np.empty_like(data)
    out[:, half : n - half] = windows @ centre.astype(data.dtype)
    out[:, :half] = data[:, :width] @ left.T.astype(data.dtype)
    out[:, n - half :] = data[:, n - width :] @ right.T.astype(data.dtype)
    return out


@dataclass(frozen=True)
class StudyFrames:
    """The study's per-frame matrices of one clip, each of shape (rows, n_frames)."""

    mfcc: np.ndarray
    delta: np.ndarray
    delta2: np.ndarray
    mel_db: np.ndarray
    sample_rate: int
    hop_length: int

    @property
    def times_s(self) -> np.ndarray:
        """Frame centre times in seconds."""
        return np.arange(self.mfcc.shape[1]) * self.hop_length / self.sample_rate

    def stacked(self) -> np.ndarray:
        """All four matrices stacked row-wise: (3 * n_mfcc + 40, n_frames)."""
        return np.concatenate([self.mfcc, self.delta, self.delta2, self.mel_db], axis=0)

    def clip_vector(self) -> np.ndarray:
        """Time means concatenated: the study's clip vector."""
        return self.stacked().mean(axis=1)


def study_frames(y: np.ndarray, *, sample_rate: int, n_mfcc: int = 40) -> StudyFrames:
    """Return the study's MFCC, Δ, ΔΔ and 40-band mel-dB matrices over time for one clip."""
    import scipy.fft

    y = validate(y, sample_rate=sample_rate)
    _check_int("n_mfcc", n_mfcc, 1, MFCC_SOURCE_MELS)
    power = dsp.stft_power(y, n_fft=STUDY_N_FFT, hop_length=STUDY_HOP_LENGTH)
    mel_source = dsp.mel_filterbank(sample_rate, STUDY_N_FFT, MFCC_SOURCE_MELS) @ power
    mfcc = scipy.fft.dct(dsp.power_to_db(mel_source, ref=1.0), axis=-2, type=2, norm="ortho")[:n_mfcc]
    mel_db = dsp.power_to_db(dsp.mel_filterbank(sample_rate, STUDY_N_FFT, STUDY_N_MELS) @ power, ref=np.max)
    return StudyFrames(
        mfcc=mfcc,
        delta=_delta(mfcc, order=1),
        delta2=_delta(mfcc, order=2),
        mel_db=mel_db,
        sample_rate=sample_rate,
        hop_length=STUDY_HOP_LENGTH,
    )


def fit_frames(matrix: np.ndarray, *, n_frames: int, axis: int, pad_value: float) -> np.ndarray:
    """Crop to the first n_frames along axis, or pad the end with pad_value."""
    n = matrix.shape[axis]
    if n >= n_frames:
        return np.take(matrix, np.arange(n_frames), axis=axis)
    pad = [(0, 0)] * matrix.ndim
    pad[axis] = (0, n_frames - n)
    return np.pad(matrix, pad, constant_values=pad_value)


def _centre_frames(matrix: np.ndarray, *, n_frames: int, pad_value: float) -> np.ndarray:
    """Crop the middle n_frames columns, or pad both sides evenly with pad_value."""
    n = matrix.shape[1]
    if n >= n_frames:
        start = (n - n_frames) // 2
        return matrix[:, start:start + n_frames]
    before = (n_frames - n) // 2
    return np.pad(matrix, [(0, 0), (before, n_frames - n - before)], constant_values=pad_value)


def log_mel(y: np.ndarray, *, spec: FeatureSpec) -> np.ndarray:
    """The clip's log-mel spectrogram in dB below its maximum (floored at ``TOP_DB``), centred in ``spec.n_frames``."""
    power = dsp.stft_power(y, n_fft=spec.n_fft, hop_length=spec.hop_length)
    mel = dsp.mel_filterbank(spec.sample_rate, spec.n_fft, spec.n_mels) @ power
    mel_db = dsp.power_to_db(mel, ref=np.max, top_db=TOP_DB)
    return _centre_frames(mel_db, n_frames=spec.n_frames, pad_value=-TOP_DB)
