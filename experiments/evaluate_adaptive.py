"""Evaluate the shipped model class (ser_core AdaptiveLinearClassifier) on cached features.

Reports, per fold and as mean ± std: single-clip accuracy/UAR under grouped 5-fold by
actor, the same with speaker adaptation (test speaker's statistics from its own unlabelled
clips), and the study's random 80/20 split. Optionally fuses with out-of-fold CNN
probabilities (--fuse oof_<tag>.npy, weight --fuse-weight).

Usage:
    nice -n 10 python experiments/evaluate_adaptive.py --features compare --C 0.1
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from baselines import load_features  # noqa: E402
from common import CACHE_DIR, EMOTIONS, grouped_folds, random_split, scores, summarize  # noqa: E402

from ser_core.models.adaptive_linear import AdaptiveLinearClassifier  # noqa: E402


def main():
    """Run all three protocols for one feature set and C."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", default="compare")
    parser.add_argument("--C", type=float, default=0.1)
    parser.add_argument("--fuse", default=None, help="oof_<tag>.npy of CNN probabilities (grouped folds)")
    parser.add_argument("--fuse-weight", type=float, default=0.5)
    parser.add_argument("--skip-random", action="store_true")
    args = parser.parse_args()
    labels = np.load(CACHE_DIR / "labels.npy")
    actors = np.load(CACHE_DIR / "actors.npy")
    names = np.array(EMOTIONS)[labels]
    X = load_features(args.features)
    fused = np.load(CACHE_DIR / args.fuse) if args.fuse else None
    out = {"features": args.features, "C": args.C, "fuse": args.fuse, "fuse_weight": args.fuse_weight}
    t0 = time.time()
    single, adapted, fused_scores = [], [], []
    for f, (train, test) in enumerate(grouped_folds(actors)):
        model = AdaptiveLinearClassifier(C=args.C).fit(X[train], names[train], speakers=actors[train])
        p_single = model.predict_proba(X[test])
        p_adapt = model.predict_proba(X[test], speakers=actors[test])
        index = {c: i for i, c in enumerate(EMOTIONS)}
        order = [index[c] for c in model.classes_]
        single.append(scores(labels[test], np.array(order)[p_single.argmax(1)]))
        adapted.append(scores(labels[test], np.array(order)[p_adapt.argmax(1)]))
        if fused is not None:
            p = np.zeros((len(test), 8))
            p[:, order] = p_single
            p = (1 - args.fuse_weight) * p + args.fuse_weight * fused[test]
            fused_scores.append(scores(labels[test], p.argmax(1)))
        print(f"fold {f}: single {single[-1]} adapted {adapted[-1]} ({time.time() - t0:.0f}s)", flush=True)
    out["grouped_single"] = summarize(single)
    out["grouped_adapted"] = summarize(adapted)
    if fused_scores:
        out["grouped_fused"] = summarize(fused_scores)
    out["grouped_train_s"] = round(time.time() - t0, 1)
    if not args.skip_random:
        (train, test), = random_split(labels)
        model = AdaptiveLinearClassifier(C=args.C).fit(X[train], names[train])
        out["random_single"] = summarize([scores(names[test], model.predict(X[test]))])
    for key, value in out.items():
        print(key, value["text"] if isinstance(value, dict) else value)
    with open(CACHE_DIR / "results.jsonl", "a") as fh:
        fh.write(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "text"} if isinstance(v, dict) else v)
                             for k, v in out.items()} | {"script": "evaluate_adaptive"}) + "\n")


if __name__ == "__main__":
    main()
