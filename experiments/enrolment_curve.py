"""Speaker adaptation from only a few enrolment clips: accuracy against the number of clips.

The library's grouped 5-fold by actor, ComParE + AdaptiveLinearClassifier(C=0.1). For
every test speaker, k unlabelled clips are drawn at random (3 draws) to estimate the
speaker's statistics, optionally shrunk toward the training population (prior_clips);
every clip of that speaker is then classified with those statistics.

Usage:
    nice -n 10 python experiments/enrolment_curve.py
"""

import time

import numpy as np

from common import argument_parser, folds, load, score

KS = (2, 4, 8, 16, 60)
PRIORS = (0.0, 4.0)
DRAWS = 3


def main():
    """Print mean ± std over folds of accuracy/UAR for every (k, prior_clips)."""
    args = argument_parser(__doc__).parse_args()
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier
    from ser_core.scoring.metrics import summarize_folds

    dataset = load("compare", data=args.data, limit=args.limit)
    X, y, groups = dataset.X, dataset.labels, dataset.speakers
    rng = np.random.default_rng(0)
    results = {(k, p): [] for k in KS for p in PRIORS}
    start = time.perf_counter()
    for f, (train, test) in enumerate(folds(dataset, seed=args.seed)):
        model = AdaptiveLinearClassifier(C=0.1).fit(X[train], y[train], speakers=groups[train])
        for k, prior in results:
            draws = []
            for _ in range(DRAWS):
                pred = np.empty(len(test), dtype=object)
                for speaker in np.unique(groups[test]):
                    rows = test[groups[test] == speaker]
                    enrol = rng.choice(rows, size=min(k, len(rows)), replace=False)
                    stats = model.speaker_stats(X[enrol], prior_clips=prior)
                    proba = model.predict_proba_for_speaker(X[rows], stats)
                    pred[np.searchsorted(test, rows)] = model.classes_[proba.argmax(1)]
                draws.append(score(dataset, test, pred.astype(str)))
            results[(k, prior)].append({key: np.mean([d[key] for d in draws]) for key in ("accuracy", "uar")})
        print(f"fold {f} done ({time.perf_counter() - start:.0f}s)", flush=True)
    print("| enrolment clips k | prior_clips | acc | UAR |")
    print("|---|---|---|---|")
    for (k, prior), fold_metrics in results.items():
        summary = summarize_folds(fold_metrics)
        acc, uar = summary["accuracy"], summary["uar"]
        print(f"| {k if k < max(KS) else f'all ({k})'} | {prior:g} | {100 * acc['mean']:.2f} ± {100 * acc['std']:.2f} "
              f"| {100 * uar['mean']:.2f} ± {100 * uar['std']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
