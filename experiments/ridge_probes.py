"""Quick ridge-classifier probes (seconds each) of single-clip ideas, on the library's grouped 5-fold by actor.

Probes: feature-set fusion by summed decision scores, and gender normalisation (z-scoring
each clip with the training statistics of its gender: true gender from the corpus index =
upper bound; gender predicted from the clip's eGeMAPS by a separate classifier = legal
single-clip variant).

Usage:
    nice -n 10 python experiments/ridge_probes.py
"""

import numpy as np

from common import argument_parser, check_same_clips, corpus, folds, load, result_text, score


def ridge_scores(Xtr, ytr, Xte, alpha=1000.0):
    """Standardise on training rows, fit RidgeClassifier, return standardised decision scores on test rows."""
    from sklearn.linear_model import RidgeClassifier

    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    clf = RidgeClassifier(alpha=alpha).fit((Xtr - mu) / sd, ytr)
    d = clf.decision_function((Xte - mu) / sd)
    return clf.classes_, (d - d.mean(1, keepdims=True)) / (d.std(1, keepdims=True) + 1e-8)


def gender_normalise(Xtr, gtr, Xte, gte):
    """Z-score every row by the training statistics of its (given) gender."""
    Xtr, Xte = Xtr.copy(), Xte.copy()
    for g in np.unique(gtr):
        mu, sd = Xtr[gtr == g].mean(0), Xtr[gtr == g].std(0) + 1e-8
        Xte[gte == g] = (Xte[gte == g] - mu) / sd
        Xtr[gtr == g] = (Xtr[gtr == g] - mu) / sd
    return Xtr, Xte


def main():
    """Print every probe's mean ± std."""
    args = argument_parser(__doc__).parse_args()
    from sklearn.linear_model import LogisticRegression

    sets = {name: load(name, data=args.data, limit=args.limit) for name in ("compare", "fastfunc", "egemaps")}
    check_same_clips(list(sets.values()))
    dataset = sets["compare"]
    y = dataset.labels
    gender = corpus(args.data, limit=args.limit).clips.set_index("path").loc[dataset.paths, "gender"].to_numpy()
    splits = folds(dataset, seed=args.seed)
    probes = {
        "ridge compare": ["compare"],
        "ridge fusion compare+fastfunc": ["compare", "fastfunc"],
        "ridge fusion compare+fastfunc+egemaps": ["compare", "fastfunc", "egemaps"],
    }
    for name, parts in probes.items():
        res = []
        for train, test in splits:
            total = 0.0
            for part in parts:
                classes, scores = ridge_scores(sets[part].X[train], y[train], sets[part].X[test])
                total = total + scores
            res.append(score(dataset, test, classes[total.argmax(1)]))
        print(f"{name:60s} {result_text(res)}", flush=True)
    for variant in ("true gender (upper bound)", "predicted gender"):
        res = []
        for train, test in splits:
            g_te = gender[test]
            if variant.startswith("predicted"):
                eg = sets["egemaps"].X
                mu, sd = eg[train].mean(0), eg[train].std(0) + 1e-8
                clf = LogisticRegression(C=0.1, max_iter=2000).fit((eg[train] - mu) / sd, gender[train])
                g_te = clf.predict((eg[test] - mu) / sd)
            Xtr, Xte = gender_normalise(dataset.X[train], gender[train], dataset.X[test], g_te)
            classes, scores = ridge_scores(Xtr, y[train], Xte)
            res.append(score(dataset, test, classes[scores.argmax(1)]))
        print(f"{'ridge compare, gender-normalised, ' + variant:60s} {result_text(res)}", flush=True)


if __name__ == "__main__":
    main()
