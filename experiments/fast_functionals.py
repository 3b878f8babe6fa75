"""A fast, numpy-only functional feature set (a ComParE-like brute-force set in a few ms per clip).

Low-level descriptors per 10-ms frame: 64 log-mel bands, 30 MFCCs, log-energy, spectral
centroid / spread / flatness / roll-off / flux, zero-crossing rate and YIN F0 (log, voiced
frames only); deltas of MFCCs and energy; functionals: mean, std, 5/25/50/75/95
percentiles, IQR, skewness, kurtosis and linear slope.

Usage:
    nice -n 10 python experiments/fast_functionals.py            # caches $SER5_CACHE/fastfunc.npy
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, SAMPLE_RATE  # noqa: E402


def functionals(F):
    """Summarise a (frames, d) matrix with 12 functionals per column: (12 * d,)."""
    if len(F) < 2:
        F = np.vstack([F, F])
    mean = F.mean(axis=0)
    std = F.std(axis=0) + 1e-8
    pct = np.percentile(F, [5, 25, 50, 75, 95], axis=0)
    z = (F - mean) / std
    skew = (z**3).mean(axis=0)
    kurt = (z**4).mean(axis=0)
    t = np.linspace(-1, 1, len(F))[:, None]
    slope = (t * (F - mean)).sum(axis=0) / (t**2).sum()
    return np.concatenate([mean, std, pct.reshape(-1), pct[3] - pct[1], skew, kurt, slope])


def fast_functionals(y, *, sample_rate=SAMPLE_RATE):
    """All descriptors and functionals for one preprocessed clip."""
    import librosa

    n_fft, hop = 512, 160
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)) ** 2  # (freq, frames)
    mel = librosa.feature.melspectrogram(S=S, sr=sample_rate, n_mels=64, fmin=20, fmax=8000)
    logmel = np.log(mel + 1e-10)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=30)
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)[:, None]
    power = S.sum(axis=0) + 1e-10
    centroid = (freqs * S).sum(axis=0) / power
    spread = np.sqrt(((freqs - centroid) ** 2 * S).sum(axis=0) / power)
    flatness = np.exp(np.log(S + 1e-10).mean(axis=0)) / (S.mean(axis=0) + 1e-10)
    cumulative = np.cumsum(S, axis=0) / power
    rolloff = freqs[np.argmax(cumulative >= 0.85, axis=0), 0]
    spec = np.sqrt(S)
    flux = np.r_[0.0, np.sqrt((np.diff(spec / (spec.sum(axis=0) + 1e-10), axis=1) ** 2).sum(axis=0))]
    energy = np.log(power)
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)[0]
    n = min(len(energy), len(zcr))
    f0 = librosa.yin(y, fmin=60, fmax=500, sr=sample_rate, frame_length=1024, hop_length=hop)
    voiced = energy[: len(f0)] > (energy.max() - 30 / 10 * np.log(10))  # frames within 30 dB of the peak
    logf0 = np.log(f0[voiced]) if voiced.sum() >= 2 else np.log(f0)
    lld = np.column_stack([
        logmel.T[:n], mfcc.T[:n], energy[:n], centroid[:n] / 1000, spread[:n] / 1000, flatness[:n],
        rolloff[:n] / 1000, flux[:n], zcr[:n],
    ])
    deltas = np.column_stack([librosa.feature.delta(mfcc).T[:n], np.gradient(energy)[:n]])
    f0_feats = functionals(logf0[:, None])
    voiced_ratio = np.array([voiced.mean()])
    return np.concatenate([functionals(lld), functionals(deltas), f0_feats, voiced_ratio]).astype(np.float32)


def main():
    """Compute fast functionals for every cached waveform."""
    wave = np.load(CACHE_DIR / "wave.npy")
    lengths = np.load(CACHE_DIR / "wave_len.npy")
    clips = np.split(wave, np.cumsum(lengths)[:-1])
    t0 = time.time()
    feats = [fast_functionals(y) for y in clips]
    elapsed = time.time() - t0
    X = np.stack(feats)
    print(f"fastfunc: {X.shape} in {elapsed:.1f}s ({1000 * elapsed / len(clips):.1f} ms/clip)")
    np.save(CACHE_DIR / "fastfunc.npy", X)


if __name__ == "__main__":
    main()
