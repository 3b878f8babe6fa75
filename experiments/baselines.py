"""Fast baselines on cached clip-level features: scaler + linear/SVM classifiers.

Usage:
    nice -n 10 python experiments/baselines.py --features egemaps compare --models lr svm_rbf
    nice -n 10 python experiments/baselines.py --features compare --models lr --protocol random
    nice -n 10 python experiments/baselines.py --features compare --models lr --speaker-adapt

Each result is printed and appended as one JSON line to $SER5_CACHE/results.jsonl.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, grouped_folds, random_split, scores, speaker_standardize, summarize  # noqa: E402


def load_features(names):
    """Stack cached clip-level feature matrices side by side (names joined with '+')."""
    mats = []
    for name in names.split("+"):
        mats.append(np.load(CACHE_DIR / f"{name}.npy").astype(np.float64))
    X = np.concatenate(mats, axis=1)
    return np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)


def make_model(name):
    """A scikit-learn pipeline for one classifier name, fixed hyperparameters."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    models = {
        "lr": lambda: LogisticRegression(C=0.1, max_iter=3000),
        "lr_c1": lambda: LogisticRegression(C=1.0, max_iter=3000),
        "lr_c001": lambda: LogisticRegression(C=0.01, max_iter=3000),
        "svm_rbf": lambda: SVC(C=10.0, gamma="scale", probability=False),
        "svm_lin": lambda: LinearSVC(C=0.001, max_iter=20000),
        "ridge": lambda: RidgeClassifier(alpha=1000.0),
    }
    return make_pipeline(StandardScaler(), models[name]())


def run(features, model_name, protocol, speaker_adapt):
    """Evaluate one (features, model) pair under a protocol; return the summary dict."""
    labels = np.load(CACHE_DIR / "labels.npy")
    actors = np.load(CACHE_DIR / "actors.npy")
    X = load_features(features)
    if speaker_adapt:
        # Statistics from each actor's own (unlabelled) clips: test actors never see labels.
        X = speaker_standardize(X, actors)
    folds = grouped_folds(actors) if protocol == "grouped" else random_split(labels)
    fold_scores = []
    t0 = time.time()
    for train, test in folds:
        model = make_model(model_name).fit(X[train], labels[train])
        fold_scores.append(scores(labels[test], model.predict(X[test])))
    summary = summarize(fold_scores)
    summary.update(features=features, model=model_name, protocol=protocol, speaker_adapt=speaker_adapt,
                   train_s=round(time.time() - t0, 1))
    return summary


def main():
    """Run the grid given on the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", nargs="+", required=True)
    parser.add_argument("--models", nargs="+", default=["lr"])
    parser.add_argument("--protocol", choices=["grouped", "random"], default="grouped")
    parser.add_argument("--speaker-adapt", action="store_true")
    args = parser.parse_args()
    for features in args.features:
        for model_name in args.models:
            summary = run(features, model_name, args.protocol, args.speaker_adapt)
            print(f"{features:28s} {model_name:8s} {args.protocol:7s} adapt={args.speaker_adapt!s:5s} "
                  f"{summary['text']}  ({summary['train_s']}s)", flush=True)
            with open(CACHE_DIR / "results.jsonl", "a") as fh:
                fh.write(json.dumps({k: v for k, v in summary.items() if k != "text"} | {"script": "baselines"}) + "\n")


if __name__ == "__main__":
    main()
