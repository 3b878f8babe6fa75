"""Shared helpers for the issue-5 experiments: clip index, preprocessing, protocols, metrics.

Every experiment reads features cached under ``$SER5_CACHE`` (default ``/tmp/ser5``) by
``experiments/cache_features.py`` so that the slow extraction runs once.
"""

import os
from pathlib import Path

import numpy as np

DATA_DIR = Path(os.environ.get("SER5_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"))
CACHE_DIR = Path(os.environ.get("SER5_CACHE", "/tmp/ser5"))
SAMPLE_RATE = 16000
EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def clip_index(data_dir=DATA_DIR):
    """Return (paths, labels 0..7, actors) for every RAVDESS clip, sorted by path."""
    paths = sorted(Path(data_dir).glob("Actor_*/*.wav"))
    labels = np.array([int(p.stem.split("-")[2]) - 1 for p in paths])
    actors = np.array([int(p.stem.split("-")[6]) for p in paths])
    return paths, labels, actors


def preprocess_file(path, *, sample_rate=SAMPLE_RATE, top_db=20.0):
    """The study's preprocessing: load mono at sample_rate Hz, trim silence, peak-normalise."""
    import librosa

    y, _ = librosa.load(path, sr=sample_rate, mono=True)
    y, _ = librosa.effects.trim(y, top_db=top_db)
    peak = np.max(np.abs(y))
    return (y / peak if peak > 0 else y).astype(np.float32)


def grouped_folds(actors, *, n_splits=5, seed=42):
    """Speaker-independent folds: actors shuffled with a fixed seed, 4 actors per fold."""
    unique = np.unique(actors)
    rng = np.random.default_rng(seed)
    order = rng.permutation(unique)
    groups = np.array_split(order, n_splits)
    folds = []
    for test_actors in groups:
        test = np.isin(actors, test_actors)
        folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return folds


def random_split(labels, *, test_size=0.2, seed=42):
    """The study's protocol: stratified random 80/20 split that shares actors."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train, test = train_test_split(idx, test_size=test_size, stratify=labels, random_state=seed)
    return [(np.sort(train), np.sort(test))]


def scores(y_true, y_pred):
    """Accuracy and UAR (balanced accuracy) of one fold."""
    from sklearn.metrics import balanced_accuracy_score

    return float(np.mean(y_true == y_pred)), float(balanced_accuracy_score(y_true, y_pred))


def summarize(fold_scores):
    """Format mean ± std of per-fold (accuracy, uar) pairs as percentages."""
    arr = np.array(fold_scores) * 100
    acc, uar = arr[:, 0], arr[:, 1]
    return {
        "acc_mean": acc.mean(), "acc_std": acc.std(), "uar_mean": uar.mean(), "uar_std": uar.std(),
        "per_fold_acc": [round(a, 2) for a in acc], "per_fold_uar": [round(u, 2) for u in uar],
        "text": f"acc {acc.mean():.2f} ± {acc.std():.2f} | UAR {uar.mean():.2f} ± {uar.std():.2f}",
    }


def speaker_standardize(X, speakers):
    """Per-speaker z-scoring of feature rows, statistics from each speaker's own rows only."""
    X = np.asarray(X, dtype=np.float64).copy()
    for s in np.unique(speakers):
        m = speakers == s
        mu = X[m].mean(axis=0)
        sd = X[m].std(axis=0) + 1e-8
        X[m] = (X[m] - mu) / sd
    return X
