"""Cache every feature the issue-5 experiments use, once, under $SER5_CACHE (default /tmp/ser5).

Usage: ``bash experiments/cache_all.sh`` runs every step below (and fast_functionals.py);
by hand (two shards of the slow ComParE run in parallel, merge, then the cheap features):
    nice -n 10 python experiments/cache_features.py --part compare --shard 0 --n-shards 2 &
    nice -n 10 python experiments/cache_features.py --part compare --shard 1 --n-shards 2 &
    wait; python experiments/cache_features.py --part merge
    nice -n 10 python experiments/cache_features.py --part cheap
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, SAMPLE_RATE, clip_index, preprocess_file  # noqa: E402

N_MELS = 64
N_FFT = 512
HOP = 160


def logmel(y):
    """Log-mel spectrogram (frames, 64) in dB, 32 ms window, 10 ms hop."""
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmin=20, fmax=8000)
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T.astype(np.float32)


def study160(y):
    """The study's 160-vector: means of MFCC40, Δ, ΔΔ and mel40 in dB (ref max)."""
    import librosa

    mfcc = librosa.feature.mfcc(y=y, sr=SAMPLE_RATE, n_mfcc=40)
    d1 = librosa.feature.delta(mfcc)
    d2 = librosa.feature.delta(mfcc, order=2)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_mels=40), ref=np.max)
    return np.concatenate([m.mean(axis=1) for m in (mfcc, d1, d2, mel)]).astype(np.float32)


def mfcc_stats(y):
    """MFCC40 + Δ + ΔΔ, mean and std over time, plus pitch-free energy stats: 240 values."""
    import librosa

    mfcc = librosa.feature.mfcc(y=y, sr=SAMPLE_RATE, n_mfcc=40)
    d1 = librosa.feature.delta(mfcc)
    d2 = librosa.feature.delta(mfcc, order=2)
    stack = np.concatenate([mfcc, d1, d2])
    return np.concatenate([stack.mean(axis=1), stack.std(axis=1)]).astype(np.float32)


def cheap(paths):
    """Waveforms, log-mel frames, study160, MFCC stats, eGeMAPS functionals."""
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals)
    waves, mels, s160, mstats, egemaps = [], [], [], [], []
    t0 = time.time()
    for i, path in enumerate(paths):
        y = preprocess_file(path)
        waves.append(y)
        mels.append(logmel(y))
        s160.append(study160(y))
        mstats.append(mfcc_stats(y))
        egemaps.append(smile.process_signal(y, SAMPLE_RATE).to_numpy()[0].astype(np.float32))
        if i % 100 == 0:
            print(f"cheap {i}/{len(paths)} {time.time() - t0:.0f}s", flush=True)
    lengths = np.array([len(w) for w in waves])
    np.save(CACHE_DIR / "wave.npy", np.concatenate(waves))
    np.save(CACHE_DIR / "wave_len.npy", lengths)
    np.save(CACHE_DIR / "logmel.npy", np.concatenate(mels))
    np.save(CACHE_DIR / "logmel_len.npy", np.array([len(m) for m in mels]))
    np.save(CACHE_DIR / "study160.npy", np.stack(s160))
    np.save(CACHE_DIR / "mfccstats.npy", np.stack(mstats))
    np.save(CACHE_DIR / "egemaps.npy", np.stack(egemaps))


def compare(paths, shard, n_shards):
    """ComParE_2016 functionals (6,373 values) for one shard of the clips."""
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.ComParE_2016, feature_level=opensmile.FeatureLevel.Functionals)
    idx = np.arange(len(paths))[shard::n_shards]
    out = []
    t0 = time.time()
    for j, i in enumerate(idx):
        y = preprocess_file(paths[i])
        out.append(smile.process_signal(y, SAMPLE_RATE).to_numpy()[0].astype(np.float32))
        if j % 50 == 0:
            print(f"compare shard {shard}: {j}/{len(idx)} {time.time() - t0:.0f}s", flush=True)
    np.save(CACHE_DIR / f"compare_shard{shard}of{n_shards}.npy", np.stack(out))


def merge(paths, n_shards):
    """Interleave the ComParE shards back into clip order."""
    full = np.zeros((len(paths), 6373), dtype=np.float32)
    for shard in range(n_shards):
        full[shard::n_shards] = np.load(CACHE_DIR / f"compare_shard{shard}of{n_shards}.npy")
    np.save(CACHE_DIR / "compare.npy", full)


def main():
    """Parse arguments and run one part."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["cheap", "compare", "merge"], required=True)
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--n-shards", type=int, default=2)
    args = parser.parse_args()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    paths, labels, actors = clip_index()
    np.save(CACHE_DIR / "labels.npy", labels)
    np.save(CACHE_DIR / "actors.npy", actors)
    if args.part == "cheap":
        cheap(paths)
    elif args.part == "compare":
        compare(paths, args.shard, args.n_shards)
    else:
        merge(paths, args.n_shards)


if __name__ == "__main__":
    main()
