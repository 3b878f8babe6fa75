"""Cheap single-clip variants of the shipped ComParE + LR model, on the library's folds.

Protocol (fixed before any number was seen):
* data: ravdess-16k actors 01-20 through ``ser_core`` (``COMPARE-16000`` and ``EGEMAPS-16000``
  from ``load_dataset``, fast functionals from ``extra_features.py``), folds
  ``grouped_kfold(groups, labels=..., seed=42)`` exactly as the model cards;
  single-clip prediction, no speaker knowledge;
* every hyperparameter is either fixed up front or chosen by *nested* grouped CV inside
  the training actors of each outer fold (``grouped_kfold(train actors, 4, seed)``,
  criterion: mean of inner accuracy and inner UAR); test folds are never used to choose;
* every variant is reported, all 5 folds, mean ± population std.

Speed-up (exact, not an approximation): an L2 logistic regression with unpenalised
intercept on standardised features has its weights in the row space of the centred
training matrix, so fitting it on the training rows' SVD coordinates (n x n instead of
n x 6,373) gives the same decision function.

Usage:
    nice -n 10 python experiments/single_clip_variants.py --variants ref,balanced
"""

import time

import numpy as np

from augment_compare import one_copy_per_clip
from common import RESULTS_LOG, argument_parser, check_same_clips, folds, load, log_result, result_text, score

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
SPEED_KEYS = ("speed0.9", "speed1.1")


def load_views(data, *, limit=None):
    """Return (views dict name -> matrix, the ComParE dataset) on the same clips of the corpus ``data``."""
    compare = load("compare", data=data, limit=limit, augment=SPEED_KEYS)
    others = {name: load(name, data=data, limit=limit) for name in ("egemaps", "fastfunc")}
    check_same_clips([compare, *others.values()])
    views = {name: other.X for name, other in others.items()}
    views["compare"] = compare.X
    views["compare_speed"] = one_copy_per_clip(compare, SPEED_KEYS)  # augment_compare.py's one copy per clip
    return views, compare


def svd_basis(X):
    """Standardisation statistics and the exact row-space basis of the standardised training rows."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    _, s, vt = np.linalg.svd((X - mean) / scale, full_matrices=False)
    return mean, scale, vt[s > s[0] * 1e-10].T


class SvdLogReg:
    """Standardise -> (exact) SVD coordinates -> L2 logistic regression; predict_proba on new rows."""

    def __init__(self, *, C=0.1, class_weight=None, n_components=None):
        self.C, self.class_weight, self.n_components = C, class_weight, n_components

    def fit(self, X, y, *, basis=None):
        """Fit on training rows (basis: precomputed svd_basis(X)); return self."""
        from sklearn.linear_model import LogisticRegression

        self.mean_, self.scale_, v = basis if basis is not None else svd_basis(X)
        self.v_ = v[:, : self.n_components] if self.n_components is not None else v
        self.clf_ = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=5000)
        self.clf_.fit(((X - self.mean_) / self.scale_) @ self.v_, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, X):
        """Class probabilities of new rows."""
        return self.clf_.predict_proba(((X - self.mean_) / self.scale_) @ self.v_)


def choose_by_inner_cv(dataset, train, view, candidates, *, seed):
    """Pick the candidate settings with the best mean(inner acc, inner UAR) over grouped inner folds."""
    from ser_core.data.splits import grouped_kfold

    X, y = view[train], dataset.labels[train]
    inner = grouped_kfold(dataset.speakers[train], n_splits=4, labels=y, seed=seed)
    fold_scores = {i: [] for i in range(len(candidates))}
    for tr, te in inner:
        basis = svd_basis(X[tr])
        for i, settings in enumerate(candidates):
            model = SvdLogReg(**settings).fit(X[tr], y[tr], basis=basis)
            metrics = score(dataset, train[te], model.classes_[model.predict_proba(X[te]).argmax(1)])
            fold_scores[i].append((metrics["accuracy"] + metrics["uar"]) / 2)
    means = [float(np.mean(fold_scores[i])) for i in range(len(candidates))]
    return candidates[int(np.argmax(means))]


def run_variant(name, views, dataset, *, heads, nested=None, seed, log):
    """Evaluate one variant: heads = [(view, settings)], probabilities averaged; print, log and return its folds."""
    y = dataset.labels
    start = time.perf_counter()
    fold_metrics, chosen = [], []
    for train, test in folds(dataset, seed=seed):
        proba = 0.0
        for view, settings in heads:
            X = views[view]
            if nested is not None:
                settings = choose_by_inner_cv(dataset, train, X, nested, seed=seed)
                chosen.append(settings)
            settings = dict(settings)
            augment = settings.pop("augment", None)
            X_train, y_train = X[train], y[train]
            if augment is not None:  # add each training clip's speed-perturbed copy (test clips untouched)
                X_train, y_train = np.vstack([X_train, views[augment][train]]), np.concatenate([y_train, y[train]])
            model = SvdLogReg(**settings).fit(X_train, y_train)
            proba = proba + model.predict_proba(X[test])
        fold_metrics.append(score(dataset, test, model.classes_[np.argmax(proba, axis=1)]))
    time_s = round(time.perf_counter() - start, 1)
    chosen_text = f" chosen {', '.join(map(str, chosen))}" if chosen else ""
    print(f"{name:22s} {result_text(fold_metrics)}  fold acc {[round(100 * fold['accuracy'], 2) for fold in fold_metrics]}"
          f"{chosen_text} ({time_s}s)", flush=True)
    return log_result("single_clip_variants", fold_metrics, log=log, name=name, chosen=[str(c) for c in chosen],
                      seed=seed, n_clips=len(y), time_s=time_s)


def main():
    """Run the chosen variants and append their summaries to a JSONL log."""
    parser = argument_parser(__doc__)
    parser.add_argument("--variants", default="ref,balanced,nested_C,nested_C_bal,fuse_egemaps,fuse_egemaps_bal,fuse_fast,fuse_fast_bal,pca")
    parser.add_argument("--log", default=str(RESULTS_LOG))
    args = parser.parse_args()
    views, dataset = load_views(args.data, limit=args.limit)
    bal = {"class_weight": "balanced"}
    table = {
        "ref": dict(heads=[("compare", {"C": 0.1})]),
        "balanced": dict(heads=[("compare", {"C": 0.1, **bal})]),
        "nested_C": dict(heads=[("compare", {})], nested=[{"C": c} for c in C_GRID]),
        "nested_C_bal": dict(heads=[("compare", {})], nested=[{"C": c, **bal} for c in C_GRID]),
        "fuse_egemaps": dict(heads=[("compare", {"C": 0.1}), ("egemaps", {"C": 0.1})]),
        "fuse_egemaps_bal": dict(heads=[("compare", {"C": 0.1, **bal}), ("egemaps", {"C": 0.1, **bal})]),
        "fuse_fast": dict(heads=[("compare", {"C": 0.1}), ("fastfunc", {"C": 0.1})]),
        "fuse_fast_bal": dict(heads=[("compare", {"C": 0.1, **bal}), ("fastfunc", {"C": 0.1, **bal})]),
        "fuse3_bal": dict(heads=[("compare", {"C": 0.1, **bal}), ("egemaps", {"C": 0.1, **bal}),
                                 ("fastfunc", {"C": 0.1, **bal})]),
        "aug_bal": dict(heads=[("compare", {"C": 0.1, "augment": "compare_speed", **bal})]),
        "aug_fuse_egemaps_bal": dict(heads=[("compare", {"C": 0.1, "augment": "compare_speed", **bal}),
                                            ("egemaps", {"C": 0.1, **bal})]),
        "pca": dict(heads=[("compare", {})], nested=[{"C": 0.1, "n_components": k, **bal} for k in (50, 100, 200, 400, None)]),
    }
    for name in args.variants.split(","):
        run_variant(name, views, dataset, **table[name], seed=args.seed, log=args.log)


if __name__ == "__main__":
    main()
