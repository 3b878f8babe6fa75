"""Speed-perturbation augmentation for ComParE + LR: one extra copy of every training clip.

Each clip is resampled by a factor 0.9 or 1.1 (alternating; tempo and pitch change together,
as Kaldi's speed perturbation), ComParE functionals are extracted for the copy, and the
training folds get original + copy (test clips are never augmented).

Usage:
    nice -n 10 python experiments/augment_compare.py --part extract --shard 0 &
    nice -n 10 python experiments/augment_compare.py --part extract --shard 1 &
    wait; nice -n 10 python experiments/augment_compare.py --part eval
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, SAMPLE_RATE, grouped_folds, scores, summarize  # noqa: E402

FACTORS = (0.9, 1.1)


def extract(shard, n_shards):
    """ComParE of the speed-perturbed copy of every clip in one shard."""
    import librosa
    import opensmile

    smile = opensmile.Smile(feature_set=opensmile.FeatureSet.ComParE_2016, feature_level=opensmile.FeatureLevel.Functionals)
    wave = np.load(CACHE_DIR / "wave.npy")
    clips = np.split(wave, np.cumsum(np.load(CACHE_DIR / "wave_len.npy"))[:-1])
    idx = np.arange(len(clips))[shard::n_shards]
    out = []
    t0 = time.time()
    for j, i in enumerate(idx):
        factor = FACTORS[i % 2]
        # Playing back at `factor` times the speed = resampling to sr / factor at the same nominal rate.
        y = librosa.resample(clips[i], orig_sr=SAMPLE_RATE, target_sr=int(round(SAMPLE_RATE / factor)))
        out.append(smile.process_signal(y.astype(np.float32), SAMPLE_RATE).to_numpy()[0].astype(np.float32))
        if j % 100 == 0:
            print(f"shard {shard}: {j}/{len(idx)} {time.time() - t0:.0f}s", flush=True)
    np.save(CACHE_DIR / f"compare_speed_shard{shard}of{n_shards}.npy", np.stack(out))


def evaluate(n_shards):
    """Grouped 5-fold: LR C=0.1 on original + perturbed training clips, original test clips."""
    from sklearn.linear_model import LogisticRegression

    labels = np.load(CACHE_DIR / "labels.npy")
    actors = np.load(CACHE_DIR / "actors.npy")
    X = np.nan_to_num(np.load(CACHE_DIR / "compare.npy").astype(np.float64))
    Xa = np.zeros_like(X)
    for shard in range(n_shards):
        Xa[shard::n_shards] = np.load(CACHE_DIR / f"compare_speed_shard{shard}of{n_shards}.npy")
    Xa = np.nan_to_num(Xa)
    res = []
    t0 = time.time()
    for f, (train, test) in enumerate(grouped_folds(actors)):
        Xtr = np.vstack([X[train], Xa[train]])
        ytr = np.concatenate([labels[train], labels[train]])
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-12
        clf = LogisticRegression(C=0.1, max_iter=3000).fit((Xtr - mu) / sd, ytr)
        res.append(scores(labels[test], clf.predict((X[test] - mu) / sd)))
        print(f"fold {f}: {res[-1]} ({time.time() - t0:.0f}s)", flush=True)
    summary = summarize(res)
    print("compare + speed-perturbed copies, LR C=0.1:", summary["text"], flush=True)
    with open(CACHE_DIR / "results.jsonl", "a") as fh:
        fh.write(json.dumps({k: v for k, v in summary.items() if k != "text"} | {"script": "augment_compare",
                            "train_s": round(time.time() - t0, 1)}) + "\n")


def main():
    """Run one part."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["extract", "eval"], required=True)
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--n-shards", type=int, default=2)
    args = parser.parse_args()
    if args.part == "extract":
        extract(args.shard, args.n_shards)
    else:
        evaluate(args.n_shards)


if __name__ == "__main__":
    main()
