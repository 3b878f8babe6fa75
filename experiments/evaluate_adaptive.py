"""Evaluate the shipped model class (ser_core AdaptiveLinearClassifier) on one feature set.

Reports, per fold and as mean ± std: single-clip accuracy/UAR on the library's grouped
5-fold by actor, the same with speaker adaptation (test speaker's statistics from its own
unlabelled clips), and the study's random 80/20 split. Optionally fuses the single-clip
probabilities with the out-of-fold probabilities of a model folder trained on the same
folds (``--fuse``, weight ``--fuse-weight``), e.g. the library's log-mel CNN:
``python -m ser_core train --data ../shared/data/ravdess-16k --model logmel_cnn --protocol kfold --out runs/logmel-cnn``.

Usage:
    nice -n 10 python experiments/evaluate_adaptive.py --features compare --C 0.1 [--fuse runs/logmel-cnn]
"""

import time

import numpy as np

from common import argument_parser, folds, load, log_result, result_text, score


def out_of_fold(folder, dataset, splits):
    """A model folder's out-of-fold kfold probabilities, rows = dataset's clips, columns = dataset.label_order.

    Raises ValueError unless the folder was scored on exactly these folds.
    """
    from recipes.default import read_predictions

    run = read_predictions(folder)["kfold"]
    row = {path: i for i, path in enumerate(run["paths"])}  # relative to the corpus root
    missing = [path for path in dataset.paths if dataset.relative(path) not in row]
    if missing:
        raise ValueError(f"{folder} has no out-of-fold prediction for {len(missing)} clips, e.g. {missing[0]}")
    order = np.array([row[dataset.relative(path)] for path in dataset.paths])
    fold_of = run["fold"][order]
    for _, test in splits:
        if len(np.unique(fold_of[test])) != 1 or np.sum(fold_of == fold_of[test[0]]) != len(test):
            raise ValueError(f"{folder}'s kfold test folds differ from these: train it on the same clips with the same --seed")
    return run["probabilities"][order][:, [run["label_order"].index(label) for label in dataset.label_order]]


def in_label_order(model, proba, label_order):
    """Probability columns of a fitted model rearranged into ``label_order``."""
    out = np.zeros((len(proba), len(label_order)))
    out[:, [label_order.index(label) for label in model.classes_]] = proba
    return out


def main():
    """Run all three protocols for one feature set and C."""
    parser = argument_parser(__doc__)
    parser.add_argument("--features", default="compare")
    parser.add_argument("--C", type=float, default=0.1)
    parser.add_argument("--fuse", default=None, metavar="MODEL_FOLDER",
                        help="model folder whose kfold out-of-fold probabilities are averaged in")
    parser.add_argument("--fuse-weight", type=float, default=0.5)
    parser.add_argument("--skip-random", action="store_true")
    args = parser.parse_args()
    from ser_core.data.splits import random_split
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier

    dataset = load(args.features, data=args.data, limit=args.limit)
    X, y, groups, labels = dataset.X, dataset.labels, dataset.speakers, dataset.label_order
    splits = folds(dataset, seed=args.seed)
    fused = out_of_fold(args.fuse, dataset, splits) if args.fuse else None
    settings = dict(features=args.features, C=args.C, seed=args.seed, limit=args.limit, n_clips=len(X))
    start = time.perf_counter()
    single, adapted, fused_scores = [], [], []
    for f, (train, test) in enumerate(splits):
        model = AdaptiveLinearClassifier(C=args.C).fit(X[train], y[train], speakers=groups[train])
        single.append(score(dataset, test, model.predict(X[test])))
        adapted.append(score(dataset, test, model.predict(X[test], speakers=groups[test])))
        if fused is not None:
            p = in_label_order(model, model.predict_proba(X[test]), labels)
            p = (1 - args.fuse_weight) * p + args.fuse_weight * fused[test]
            fused_scores.append(score(dataset, test, np.asarray(labels)[p.argmax(1)]))
        print(f"fold {f}: single acc {single[-1]['accuracy']:.4f} uar {single[-1]['uar']:.4f}; adapted acc "
              f"{adapted[-1]['accuracy']:.4f} uar {adapted[-1]['uar']:.4f} ({time.perf_counter() - start:.0f}s)", flush=True)
    grouped_s = round(time.perf_counter() - start, 1)
    results = {"grouped_single": single, "grouped_adapted": adapted}
    if fused_scores:
        results["grouped_fused"] = fused_scores
        settings.update(fuse=args.fuse, fuse_weight=args.fuse_weight)
    if not args.skip_random:
        train, test = random_split(y, seed=args.seed)
        model = AdaptiveLinearClassifier(C=args.C).fit(X[train], y[train])
        results["random_single"] = [score(dataset, test, model.predict(X[test]))]
    for name, fold_metrics in results.items():
        print(f"{name:16s} {result_text(fold_metrics)}")
        log_result("evaluate_adaptive", fold_metrics, protocol=name, **settings,
                   train_s=grouped_s if name.startswith("grouped") else None)


if __name__ == "__main__":
    main()
