"""Quick ridge-classifier probes (seconds each) of single-clip ideas, grouped 5-fold by actor.

Probes: feature-set fusion by summed decision scores, and gender normalisation (z-scoring
each clip with the training statistics of its gender: true gender = upper bound, gender
predicted from the clip by a separate classifier = legal single-clip variant).

Usage:
    nice -n 10 python experiments/ridge_probes.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import load_features  # noqa: E402
from common import CACHE_DIR, grouped_folds, scores, summarize  # noqa: E402


def ridge_scores(Xtr, ytr, Xte, alpha=1000.0):
    """Standardise on training rows, fit RidgeClassifier, return standardised decision scores on test rows."""
    from sklearn.linear_model import RidgeClassifier

    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    clf = RidgeClassifier(alpha=alpha).fit((Xtr - mu) / sd, ytr)
    d = clf.decision_function((Xte - mu) / sd)
    return (d - d.mean(1, keepdims=True)) / (d.std(1, keepdims=True) + 1e-8)


def gender_normalise(Xtr, gtr, Xte, gte):
    """Z-score every row by the training statistics of its (given) gender."""
    Xtr, Xte = Xtr.copy(), Xte.copy()
    for g in (0, 1):
        mu, sd = Xtr[gtr == g].mean(0), Xtr[gtr == g].std(0) + 1e-8
        Xte[gte == g] = (Xte[gte == g] - mu) / sd
        Xtr[gtr == g] = (Xtr[gtr == g] - mu) / sd
    return Xtr, Xte


def main():
    """Print every probe's mean ± std."""
    from sklearn.linear_model import LogisticRegression

    labels = np.load(CACHE_DIR / "labels.npy")
    actors = np.load(CACHE_DIR / "actors.npy")
    gender = (actors % 2 == 0).astype(int)  # even actor = female
    folds = grouped_folds(actors)
    sets = {name: load_features(name) for name in ("compare", "fastfunc", "egemaps")}
    probes = {
        "ridge compare": [("compare",)],
        "ridge fusion compare+fastfunc": [("compare",), ("fastfunc",)],
        "ridge fusion compare+fastfunc+egemaps": [("compare",), ("fastfunc",), ("egemaps",)],
    }
    for name, parts in probes.items():
        res = []
        for train, test in folds:
            total = sum(ridge_scores(sets[p[0]][train], labels[train], sets[p[0]][test]) for p in parts)
            res.append(scores(labels[test], total.argmax(1)))
        print(f"{name:45s} {summarize(res)['text']}", flush=True)
    X = sets["compare"]
    for variant in ("true gender (upper bound)", "predicted gender"):
        res = []
        for train, test in folds:
            g_te = gender[test]
            if variant.startswith("predicted"):
                eg = sets["egemaps"]
                mu, sd = eg[train].mean(0), eg[train].std(0) + 1e-8
                clf = LogisticRegression(C=0.1, max_iter=2000).fit((eg[train] - mu) / sd, gender[train])
                g_te = clf.predict((eg[test] - mu) / sd)
            Xtr, Xte = gender_normalise(X[train], gender[train], X[test], g_te)
            res.append(scores(labels[test], ridge_scores(Xtr, labels[train], Xte).argmax(1)))
        print(f"{'ridge compare, gender-normalised, ' + variant:45s} {summarize(res)['text']}", flush=True)


if __name__ == "__main__":
    main()
