"""Cheap single-clip variants of the shipped ComParE + LR model, under the shipped model's folds.

Protocol (fixed before any number was seen):
* data: ravdess-16k actors 01-20 through ``ser_core`` (index_corpus, COMPARE-16000 via the
  feature cache), folds ``ser_core.splits.grouped_kfold(actors, n_splits=5, seed=42)``
  exactly as ``experiments/ship_default.py``; single-clip prediction, no speaker knowledge;
* every hyperparameter is either fixed up front or chosen by *nested* grouped CV inside
  the training actors of each outer fold (``grouped_kfold(train actors, 4, seed=42)``,
  criterion: mean of inner accuracy and inner UAR); test folds are never used to choose;
* every variant is reported, all 5 folds, mean ± population std.

Speed-up (exact, not an approximation): an L2 logistic regression with unpenalised
intercept on standardised features has its weights in the row space of the centred
training matrix, so fitting it on the training rows' SVD coordinates (n x n instead of
n x 6,373) gives the same decision function.

Usage:
    SER_CACHE_DIR=/tmp/ser5/ser_cache nice -n 10 python experiments/single_clip_variants.py
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.corpus import index_corpus  # noqa: E402
from ser_core.features import extract_corpus  # noqa: E402
from ser_core.splits import grouped_kfold  # noqa: E402

from common import CACHE_DIR, clip_index, scores, summarize  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def load_views(data):
    """Return (views dict name -> matrix, labels, actors) in ser_core's clip order."""
    clips = index_corpus(data, corpus="ravdess").clips
    paths = clips["path"].tolist()
    y = clips["emotion"].astype(str).to_numpy()
    actors = clips["actor"].astype(str).to_numpy()
    views = {"compare": extract_corpus(paths, spec="COMPARE-16000", n_jobs=1).astype(np.float64)}
    cached_paths, _, _ = clip_index(data)
    position = {Path(p).name: i for i, p in enumerate(cached_paths)}
    order = np.array([position[Path(p).name] for p in paths])
    for name in ("egemaps", "fastfunc"):
        views[name] = np.load(CACHE_DIR / f"{name}.npy").astype(np.float64)[order]
    speed = np.empty((len(cached_paths), views["compare"].shape[1]))
    for shard in range(2):  # experiments/augment_compare.py: one 0.9x or 1.1x speed copy per clip
        speed[shard::2] = np.load(CACHE_DIR / f"compare_speed_shard{shard}of2.npy")
    views["compare_speed"] = np.nan_to_num(speed)[order]
    return views, y, actors


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


def choose_by_inner_cv(X, y, actors, candidates):
    """Pick the candidate settings with the best mean(inner acc, inner UAR) over grouped inner folds."""
    inner = grouped_kfold(actors, n_splits=4, seed=42)
    fold_scores = {i: [] for i in range(len(candidates))}
    for tr, te in inner:
        basis = svd_basis(X[tr])
        for i, settings in enumerate(candidates):
            model = SvdLogReg(**settings).fit(X[tr], y[tr], basis=basis)
            fold_scores[i].append(scores(y[te], model.classes_[model.predict_proba(X[te]).argmax(1)]))
    means = [float(np.mean(fold_scores[i])) for i in range(len(candidates))]
    return candidates[int(np.argmax(means))]


def run_variant(name, views, y, actors, *, heads, nested=None):
    """Evaluate one variant: heads = [(view, settings)], probabilities averaged; print and return summary."""
    t0 = time.perf_counter()
    fold_scores, chosen = [], []
    for train, test in grouped_kfold(actors, n_splits=5, seed=42):
        proba = 0.0
        for view, settings in heads:
            X = views[view]
            if nested is not None:
                settings = choose_by_inner_cv(X[train], y[train], actors[train], nested)
                chosen.append(settings)
            settings = dict(settings)
            augment = settings.pop("augment", None)
            X_train, y_train = X[train], y[train]
            if augment is not None:  # add each training clip's speed-perturbed copy (test clips untouched)
                X_train, y_train = np.vstack([X_train, views[augment][train]]), np.concatenate([y_train, y[train]])
            model = SvdLogReg(**settings).fit(X_train, y_train)
            proba = proba + model.predict_proba(X[test])
        fold_scores.append(scores(y[test], model.classes_[np.argmax(proba, axis=1)]))
    summary = summarize(fold_scores)
    summary.update(name=name, chosen=[str(c) for c in chosen], time_s=round(time.perf_counter() - t0, 1))
    print(json.dumps(summary, default=float), flush=True)
    return summary


def main():
    """Run the chosen variants and append their summaries to a JSONL log."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--variants", default="ref,balanced,nested_C,nested_C_bal,fuse_egemaps,fuse_egemaps_bal,fuse_fast,fuse_fast_bal,pca")
    parser.add_argument("--log", default=str(CACHE_DIR / "single_clip_variants.jsonl"))
    args = parser.parse_args()
    views, y, actors = load_views(args.data)
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
    with open(args.log, "a") as log:
        for name in args.variants.split(","):
            log.write(json.dumps(run_variant(name, views, y, actors, **table[name]), default=float) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
