"""librosa's trim, STFT power, mel filterbank, dB scale, YIN and soxr resampling in plain NumPy, number for number.

Classifying a clip needs only these steps, and importing librosa for them loads numba and
LLVM: about 130 MB more in every process that serves a model. Each function repeats
librosa 0.11's arithmetic (same operations in the same dtypes; scipy's periodic Hann
window), so features equal librosa's to float rounding and trimming cuts at the same
sample; ``tests/test_dsp.py`` holds them side by side on real clips. Only pitch-shift
augmentation still uses librosa. Keeping numba out also keeps its on-disk kernel cache out
of the many processes the studio runs at once (numba's cache is not safe to fill from
several processes together; a fresh install crashed in a librosa kernel after a parallel
run had filled it).

Examples
--------
>>> t = np.arange(16000) / 16000
>>> y = np.concatenate([np.zeros(8000), np.sin(2 * np.pi * 220 * t), np.zeros(8000)]).astype(np.float32)
>>> trim(y, top_db=20, frame_length=2048, hop_length=512).size
17408
>>> stft_power(y, n_fft=400, hop_length=160).shape
(201, 201)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: librosa's floor for amplitudes (``amplitude_to_db``) and powers (``power_to_db``).
AMPLITUDE_MIN = 1e-5
POWER_MIN = 1e-10


def frame(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Overlapping frames as a view ``(frame_length, n_frames)`` (``librosa.util.frame``)."""
    return np.lib.stride_tricks.sliding_window_view(y, frame_length)[::hop_length].T


@lru_cache(maxsize=8)
def hann(n: int) -> np.ndarray:
    """The periodic Hann window of scipy's ``get_window("hann", n, fftbins=True)``, float64."""
    fac = np.linspace(-np.pi, np.pi, n + 1)
    window = np.zeros(n + 1)
    for k, a in enumerate((0.5, 0.5)):
        window += a * np.cos(k * fac)
    window = window[:n]
    window.flags.writeable = False
    return window


def power_to_db(power: np.ndarray, *, ref=np.max, amin: float = POWER_MIN, top_db: float | None = 80.0) -> np.ndarray:
    """``10 log10(power / ref)`` floored at ``amin`` and at ``top_db`` below the maximum (``librosa.power_to_db``)."""
    power = np.asarray(power)
    ref_value = ref(power) if callable(ref) else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(amin, power))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def amplitude_to_db(amplitude: np.ndarray, *, ref=np.max, amin: float = 1e-5, top_db: float | None = 80.0) -> np.ndarray:
    """``20 log10(amplitude / ref)`` with the same floors (``librosa.amplitude_to_db``)."""
    magnitude = np.abs(np.asarray(amplitude))
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    return power_to_db(np.square(magnitude), ref=ref_value ** 2, amin=amin ** 2, top_db=top_db)


def rms(y: np.ndarray, *, frame_length: int, hop_length: int) -> np.ndarray:
    """Root-mean-square of centred, zero-padded frames, float32 (``librosa.feature.rms``), shape ``(n_frames,)``."""
    padded = np.pad(y, (frame_length // 2, frame_length // 2), mode="constant")
    frames = frame(padded, frame_length=frame_length, hop_length=hop_length)
    return np.sqrt(np.mean(np.square(frames, dtype=np.float32), axis=-2, keepdims=True))[0]


def trim(y: np.ndarray, *, top_db: float, frame_length: int, hop_length: int) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``top_db`` below the loudest (``librosa.effects.trim``)."""
    magnitude = np.abs(rms(y, frame_length=frame_length, hop_length=hop_length))
    reference = np.max(magnitude)
    db = power_to_db(np.square(magnitude), ref=reference ** 2, amin=AMPLITUDE_MIN ** 2, top_db=None)
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return y[0:0]
    return y[int(loud[0] * hop_length):min(y.shape[-1], int((loud[-1] + 1) * hop_length))]


def stft_power(y: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """``|STFT|^2`` with a periodic Hann window, centred zero-padded frames, float32 (``librosa.stft``)."""
    padded = np.pad(np.asarray(y, dtype=np.float32), (n_fft // 2, n_fft // 2), mode="constant")
    frames = frame(padded, frame_length=n_fft, hop_length=hop_length)
    spectrum = np.fft.rfft(hann(n_fft)[:, None] * frames, axis=-2).astype(np.complex64)
    return np.abs(spectrum) ** 2


def _hz_to_mel(hz):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (``librosa.hz_to_mel``)."""
    hz = np.asanyarray(hz)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mels = hz / f_sp
    if hz.ndim:
        above = hz >= min_log_hz
        mels[above] = min_log_mel + np.log(hz[above] / min_log_hz) / logstep
    elif hz >= min_log_hz:
        mels = min_log_mel + np.log(hz / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels):
    """The inverse of :func:`_hz_to_mel` (``librosa.mel_to_hz``)."""
    mels = np.asanyarray(mels)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    hz = f_sp * mels
    above = mels >= min_log_mel
    hz[above] = min_log_hz * np.exp(logstep * (mels[above] - min_log_mel))
    return hz


@lru_cache(maxsize=32)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmax: float | None = None) -> np.ndarray:
    """Slaney-normalised triangular mel filters from 0 Hz to ``fmax`` (default Nyquist), ``(n_mels, 1 + n_fft // 2)``
    float32 (``librosa.filters.mel``)."""
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(float(fmax or sample_rate / 2)), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    weights.flags.writeable = False
    return weights


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """soxr's high-quality resampler, length fixed to ``ceil(n * target / orig)`` (``librosa.resample(res_type="soxr_hq")``)."""
    import soxr

    y = np.asarray(y, dtype=np.float32)
    out = soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")
    size = int(np.ceil(y.shape[-1] * float(target_sr) / orig_sr))
    return np.asarray(out[:size] if out.shape[-1] >= size else np.pad(out, (0, size - out.shape[-1])), dtype=np.float32)


def _parabolic_shifts(x: np.ndarray) -> np.ndarray:
    """Offset of the parabola through each bin and its neighbours along axis 0 (0 where it would leave the bin)."""
    shifts = np.zeros_like(x)
    a = x[2:] + x[:-2] - 2 * x[1:-1]
    b = (x[2:] - x[:-2]) / 2
    inside = np.abs(b) < np.abs(a)
    shifts[1:-1] = np.where(inside, -b / np.where(inside, a, 1), 0)
    return shifts


def _local_minima(x: np.ndarray) -> np.ndarray:
    """Bins lower than the one before and not higher than the one after, along axis 0 (``librosa.util.localmin``)."""
    minima = np.zeros(x.shape, dtype=bool)
    minima[1:-1] = (x[1:-1] < x[:-2]) & (x[1:-1] <= x[2:])
    minima[-1] = x[-1] < x[-2]
    return minima


def yin(y: np.ndarray, *, fmin: float, fmax: float, sample_rate: int, frame_length: int, hop_length: int,
        trough_threshold: float = 0.1) -> np.ndarray:
    """Fundamental frequency in Hz of each centred frame by YIN (``librosa.yin``, de Cheveigné and Kawahara 2002)."""
    import scipy.fft  # here, not at the top: 0.2 s to import, and indexing a corpus (Home) needs only trim

    padded = np.pad(y, (frame_length // 2, frame_length // 2), mode="constant")
    frames = frame(padded, frame_length=frame_length, hop_length=hop_length)
    min_period = int(np.floor(sample_rate / fmax))
    max_period = min(int(np.ceil(sample_rate / fmin)), frame_length - 1)
    # autocorrelation by FFT, then the difference function d(k) = 2 (r(0) - r(k)) - sum_{m<k} y(m)^2
    n_fft = scipy.fft.next_fast_len(2 * frame_length - 1, real=True)
    spectrum = np.fft.rfft(frames, n=n_fft, axis=0)
    acf = np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=n_fft, axis=0)[: max_period + 1]
    difference = np.cumsum(np.square(frames), axis=0)
    lags = slice(1, max_period + 1)
    difference[0] = 0
    difference[lags] = 2 * (acf[0:1] - acf[lags]) - difference[: lags.stop - 1]
    # cumulative mean normalised difference over the searched periods
    cumulative_mean = np.cumsum(difference[lags], axis=0) / np.arange(1, max_period + 1)[:, None]
    denominator = cumulative_mean[min_period - 1 : max_period]
    normalised = difference[min_period : max_period + 1] / (denominator + np.finfo(denominator.dtype).tiny)
    shifts = _parabolic_shifts(normalised)
    troughs = _local_minima(normalised)
    troughs[0] = normalised[0] < normalised[1]
    below = troughs & (normalised < trough_threshold)
    period = np.where(below.any(axis=0), np.argmax(below, axis=0), np.argmin(normalised, axis=0))
    refined = min_period + period + np.take_along_axis(shifts, period[None], axis=0)[0]
    return sample_rate / refined
