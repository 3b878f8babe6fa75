"""Speaker adaptation from only a few enrolment clips: accuracy against the number of clips.

Grouped 5-fold by actor (experiment folds), ComParE + AdaptiveLinearClassifier(C=0.1).
For every test speaker, k unlabelled clips are drawn at random (3 draws) to estimate the
speaker's statistics, optionally shrunk toward the training population (prior_clips);
every clip of that speaker is then classified with those statistics.

Usage:
    nice -n 10 python experiments/enrolment_curve.py
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from baselines import load_features  # noqa: E402
from common import CACHE_DIR, EMOTIONS, grouped_folds, scores  # noqa: E402

from ser_core.adapt import SpeakerStats, apply_speaker_stats, fit_speaker_stats  # noqa: E402
from ser_core.models.adaptive_linear import AdaptiveLinearClassifier, _softmax  # noqa: E402

KS = (2, 4, 8, 16, 60)
PRIORS = (0.0, 4.0)
DRAWS = 3


def main():
    """Print mean ± std over folds of accuracy/UAR for every (k, prior_clips)."""
    labels = np.load(CACHE_DIR / "labels.npy")
    actors = np.load(CACHE_DIR / "actors.npy")
    names = np.array(EMOTIONS)[labels]
    X = load_features("compare")
    rng = np.random.default_rng(0)
    results = {(k, p): [] for k in KS for p in PRIORS}
    t0 = time.time()
    for f, (train, test) in enumerate(grouped_folds(actors)):
        model = AdaptiveLinearClassifier(C=0.1).fit(X[train], names[train], speakers=actors[train])
        order = np.array([EMOTIONS.index(c) for c in model.classes_])
        population = SpeakerStats(mean=model.single_[0], std=model.single_[1], n_clips=0)
        mean, scale, coef, intercept = model.adapted_
        for k in KS:
            for prior in PRIORS:
                if prior == 0 and k < 2:
                    continue
                fold_scores = []
                for _ in range(DRAWS):
                    pred = np.empty(len(test), dtype=int)
                    for a in np.unique(actors[test]):
                        rows = test[actors[test] == a]
                        enrol = rng.choice(rows, size=min(k, len(rows)), replace=False)
                        stats = fit_speaker_stats(X[enrol], prior=population, prior_clips=prior)
                        Z = (apply_speaker_stats(X[rows], stats) - mean) / scale
                        pred[np.searchsorted(test, rows)] = order[_softmax(Z @ coef.T + intercept).argmax(1)]
                    fold_scores.append(scores(labels[test], pred))
                results[(k, prior)].append(np.mean(fold_scores, axis=0))
        print(f"fold {f} done ({time.time() - t0:.0f}s)", flush=True)
    print("| enrolment clips k | prior_clips | acc | UAR |")
    print("|---|---|---|---|")
    for (k, prior), vals in results.items():
        arr = np.array(vals) * 100
        print(f"| {k if k < 60 else 'all (60)'} | {prior:g} | {arr[:, 0].mean():.2f} ± {arr[:, 0].std():.2f} "
              f"| {arr[:, 1].mean():.2f} ± {arr[:, 1].std():.2f} |", flush=True)


if __name__ == "__main__":
    main()
