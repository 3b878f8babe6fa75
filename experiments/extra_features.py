"""Feature sets the library has no kind for, computed from ser_core's preprocessed clips and cached by it.

``fastfunc``: a fast, numpy-only functional set (ComParE-like brute force in a few ms per
clip). Low-level descriptors per 10-ms frame: 64 log-mel bands, 30 MFCCs, log-energy,
spectral centroid / spread / flatness / roll-off / flux, zero-crossing rate and YIN F0
(log, voiced frames only); deltas of MFCCs and energy; functionals: mean, std, 5/25/50/75/95
percentiles, IQR, skewness, kurtosis and linear slope (1,464 values).
``mfccstats``: the study's 40 MFCCs, Δ and ΔΔ (``ser_core.features.study_frames``), mean and
std over time (240 values).

Clips come from ``ser_core.audio.preprocess.load_clip`` (the library's preprocessing); each clip's
vector is kept in ``ser_core.features.cache.FeatureCache`` under ``EXP-<name>-v<version>``.
``experiments/fast_functionals.py`` fills the cache for one set and reports its cost.
"""


import numpy as np

#: Bumped whenever a function below changes its numbers, so stale cache entries miss.
EXTRA_VERSION = 1


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


def fast_functionals(y, *, sample_rate=16000):
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


def mfcc_stats(y, *, sample_rate=16000):
    """The study's MFCC40, Δ and ΔΔ frames, mean and std over time: 240 values."""
    from ser_core.features import study_frames

    frames = study_frames(y, sample_rate=sample_rate)
    stack = np.concatenate([frames.mfcc, frames.delta, frames.delta2])
    return np.concatenate([stack.mean(axis=1), stack.std(axis=1)]).astype(np.float32)


#: Experiment-only feature sets by name: one preprocessed clip -> one vector.
EXTRA_FEATURES = {"fastfunc": fast_functionals, "mfccstats": mfcc_stats}


def extra_dataset(index, name, *, settings=None):
    """A library ``Dataset`` of one experiment-only feature set for a corpus index (duplicates dropped)."""
    from ser_core.audio.preprocess import PreprocessSettings, load_clip
    from ser_core.data.dataset import Dataset
    from ser_core.features.cache import FeatureCache

    settings = settings or PreprocessSettings()
    compute, cache = EXTRA_FEATURES[name], FeatureCache()
    keys = dict(spec_key=f"EXP-{name}-v{EXTRA_VERSION}", settings_key=settings.key)
    clips = index.clips[index.clips["duplicate_of"].isna()]
    rows = []
    for path in clips["path"]:
        content_hash = cache.content_hash(path)
        x = cache.load(content_hash, **keys)
        if x is None:
            x = compute(load_clip(path, settings=settings), sample_rate=settings.sample_rate)
            cache.save(content_hash, x, **keys)
        rows.append(x)
    cache.save_hashes()
    return Dataset(X=np.stack(rows).astype(np.float64), labels=clips["label"].to_numpy(dtype=str),
                   speakers=clips["speaker"].astype(str).to_numpy(), paths=clips["path"].tolist(),
                   feature_kind=name, settings=settings, corpora=clips["corpus"].astype(str).to_numpy(),
                   layout=index.layout)
