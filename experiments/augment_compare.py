"""Speed-perturbation augmentation for ComParE + LR: one extra copy of every training clip.

Each clip's copy is played back 0.9 or 1.1 times as fast, the factors taken in turn clip
by clip (tempo and pitch change together, as Kaldi's speed perturbation:
``ser_core.audio.augment.SpeedPerturbation``, extracted and cached through ``load_dataset``).
The training folds get originals + copies, standardised together; test clips are never
perturbed. Plain logistic regression, C=0.1, on the library's grouped 5-fold by actor.
``augment_variants.py`` scores the shipped model's fit path with every copy of every clip.

Usage:
    nice -n 10 python experiments/augment_compare.py [--factors 0.9,1.1]
"""

import time

import numpy as np

from common import argument_parser, folds, load, log_result, result_text, score


def one_copy_per_clip(dataset, keys):
    """Features of one augmented copy of every clip, taking the augmentation keys in turn clip by clip."""
    turn = np.arange(len(dataset.X)) % len(keys)
    copies = np.empty_like(dataset.X)
    for i, key in enumerate(keys):
        copies[turn == i] = dataset.augmented[key][turn == i]
    return copies


def main():
    """Grouped 5-fold: LR C=0.1 on original + perturbed training clips, original test clips."""
    parser = argument_parser(__doc__)
    parser.add_argument("--factors", default="0.9,1.1", help="speed factors, taken in turn clip by clip")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    keys = [f"speed{float(factor):g}" for factor in args.factors.split(",")]
    dataset = load("compare", data=args.data, limit=args.limit, augment=keys)
    X, y, copies = dataset.X, dataset.labels, one_copy_per_clip(dataset, keys)
    res = []
    start = time.perf_counter()
    for f, (train, test) in enumerate(folds(dataset, seed=args.seed)):
        Xtr = np.vstack([X[train], copies[train]])
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-12
        clf = LogisticRegression(C=0.1, max_iter=3000).fit((Xtr - mu) / sd, np.concatenate([y[train], y[train]]))
        res.append(score(dataset, test, clf.predict((X[test] - mu) / sd)))
        print(f"fold {f}: acc {res[-1]['accuracy']:.4f} uar {res[-1]['uar']:.4f} ({time.perf_counter() - start:.0f}s)",
              flush=True)
    print(f"compare + one speed-perturbed copy ({args.factors}), LR C=0.1: {result_text(res)}", flush=True)
    log_result("augment_compare", res, factors=args.factors, seed=args.seed, limit=args.limit, n_clips=len(X),
               train_s=round(time.perf_counter() - start, 1))


if __name__ == "__main__":
    main()
