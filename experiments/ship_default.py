"""Train, evaluate and save the issue-5 default model through ser_core's own pipeline.

ComParE_2016 functionals (ser_core.features, kind COMPARE-16000, the study's
preprocessing from ser_core.audio) -> AdaptiveLinearClassifier (class-balanced, C=0.05),
its single-clip head also trained on twelve speed-perturbed copies of every training clip
(ser_core.augment). Evaluated under speaker-independent 5-fold by actor
(ser_core.splits.grouped_kfold, single clip and with speaker adaptation) and the study's
random 80/20 split, then refit on every clip of actors 01-20 and saved with
ser_core.artifacts.save_artifact. The defaults are the shipped model's settings.

Usage (about 10-15 minutes on 2 CPU cores from cold, most of it ComParE extraction of the
clips and their copies, which is cached; about 3 minutes after that):
    nice -n 10 python experiments/ship_default.py --out artifacts/compare-adaptive-lr --set-default
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.augment import parse_augmentations  # noqa: E402
from ser_core.artifacts import load_model, save_artifact, set_default_model, update_metrics  # noqa: E402
from ser_core.corpus import index_corpus  # noqa: E402
from ser_core.evaluate import evaluate_predictions, latency_per_clip_ms, summarize_folds  # noqa: E402
from ser_core.features import extract_corpus  # noqa: E402
from ser_core.labels import EMOTIONS  # noqa: E402
from ser_core.models.adaptive_linear import AdaptiveLinearClassifier  # noqa: E402
from ser_core.splits import grouped_kfold, random_split  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
FEATURE_KIND = "COMPARE-16000"
SEED = 42
#: The shipped recipe's training copies (results/accuracy.md, "Augmentation recipes").
SHIPPED_AUGMENT = ",".join(f"speed{factor:g}" for factor in
                           (0.85, 0.875, 0.9, 0.925, 0.95, 0.975, 1.025, 1.05, 1.075, 1.1, 1.125, 1.15))


def augmented_rows(X_copies, y, rows):
    """fit() keyword arguments adding the perturbed copies of the given training rows (none: {})."""
    if not X_copies:
        return {}
    return {"X_augmented": np.vstack([X_copy[rows] for X_copy in X_copies]),
            "y_augmented": np.concatenate([y[rows]] * len(X_copies))}


def evaluate(X, y, actors, *, C, class_weight=None, X_copies=()):
    """Run the three protocols; return the metrics dict for the artifact.

    ``X_copies``: features of perturbed copies of every clip (same row order as X); only
    the training rows' copies are used, test clips are never perturbed.
    """
    protocols = {}
    single, adapted = [], []
    t0 = time.perf_counter()
    for k, (train, test) in enumerate(grouped_kfold(actors, n_splits=5, seed=SEED)):
        model = AdaptiveLinearClassifier(C=C, class_weight=class_weight).fit(
            X[train], y[train], speakers=actors[train], **augmented_rows(X_copies, y, train))
        fold = evaluate_predictions(y[test], model.predict(X[test]), labels=list(EMOTIONS))
        fold["train_accuracy"] = float(np.mean(model.predict(X[train]) == y[train]))
        fold["test_actors"] = sorted({str(a) for a in actors[test]})
        single.append(fold)
        fold_a = evaluate_predictions(y[test], model.predict(X[test], speakers=actors[test]), labels=list(EMOTIONS))
        fold_a["test_actors"] = fold["test_actors"]
        adapted.append(fold_a)
        print(f"fold {k} actors {fold['test_actors']}: single acc {fold['accuracy']:.4f} uar {fold['uar']:.4f}; "
              f"adapted acc {fold_a['accuracy']:.4f} uar {fold_a['uar']:.4f} ({time.perf_counter() - t0:.0f}s)", flush=True)
    grouped_s = round(time.perf_counter() - t0, 1)
    protocols["kfold"] = {
        "protocol": "kfold", "description": "speaker-independent 5-fold by actor (single clip, no speaker knowledge)",
        "folds": single, "summary": summarize_folds(single), "time_s": grouped_s,
    }
    protocols["kfold_speaker_adapted"] = {
        "protocol": "kfold_speaker_adapted",
        "description": "speaker-independent 5-fold by actor, per-speaker normalisation from the test speaker's unlabelled clips",
        "folds": adapted, "summary": summarize_folds(adapted), "time_s": grouped_s,
    }
    t0 = time.perf_counter()
    train, test = random_split(y, test_size=0.2, seed=SEED)
    model = AdaptiveLinearClassifier(C=C, class_weight=class_weight).fit(X[train], y[train], **augmented_rows(X_copies, y, train))
    fold = evaluate_predictions(y[test], model.predict(X[test]), labels=list(EMOTIONS))
    fold["train_accuracy"] = float(np.mean(model.predict(X[train]) == y[train]))
    protocols["random"] = {
        "protocol": "random", "description": "study's random stratified 80/20 split (speakers shared)",
        "folds": [fold], "summary": summarize_folds([fold]), "time_s": round(time.perf_counter() - t0, 1),
    }
    print(f"random split: acc {fold['accuracy']:.4f} uar {fold['uar']:.4f}", flush=True)
    return {"protocols": protocols}


def describe(C, class_weight, augmentations):
    """One-line description for the model card."""
    extras = [f"C={C:g}"] + (["class-balanced"] if class_weight else [])
    if augmentations:
        extras.append("single-clip head also trained on augmented copies: " + ", ".join(a.key for a in augmentations))
    return ("ComParE_2016 functionals -> standardised logistic regression (%s); "
            "optional speaker-adapted head (issue 5)" % ", ".join(extras))


def main():
    """Extract, evaluate, fit on all clips, save, benchmark and optionally make it the default."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out", default="artifacts/compare-adaptive-lr")
    parser.add_argument("--C", type=float, default=0.05)
    parser.add_argument("--class-weight", choices=["none", "balanced"], default="balanced")
    parser.add_argument("--augment", default=SHIPPED_AUGMENT, help="augmented training copies for the single-clip "
                        "head, e.g. speed0.9,speed1.1; '' for none (default: the shipped model's twelve speeds)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--set-default", action="store_true")
    args = parser.parse_args()

    index = index_corpus(args.data, corpus="ravdess")
    clips = index.clips
    paths = clips["path"].tolist()
    y = clips["emotion"].astype(str).to_numpy()
    actors = clips["actor"].astype(str).to_numpy()
    t0 = time.perf_counter()
    X = extract_corpus(paths, spec=FEATURE_KIND, n_jobs=args.n_jobs,
                       progress=lambda done, total: print(f"features {done}/{total}", flush=True) if done % 200 == 0 else None)
    print(f"{FEATURE_KIND}: {X.shape} in {time.perf_counter() - t0:.0f}s", flush=True)
    augmentations = parse_augmentations(args.augment)
    X_copies = []
    for augmentation in augmentations:
        t0 = time.perf_counter()
        X_copies.append(extract_corpus(paths, spec=FEATURE_KIND, n_jobs=args.n_jobs, augmentation=augmentation))
        print(f"{FEATURE_KIND} of {augmentation.key} copies: {time.perf_counter() - t0:.0f}s", flush=True)

    class_weight = None if args.class_weight == "none" else args.class_weight
    metrics = evaluate(X, y, actors, C=args.C, class_weight=class_weight, X_copies=X_copies)
    t0 = time.perf_counter()
    model = AdaptiveLinearClassifier(C=args.C, class_weight=class_weight).fit(
        X, y, speakers=actors, **augmented_rows(X_copies, y, np.arange(len(y))))
    metrics["training_time_s"] = round(time.perf_counter() - t0, 1)
    out = Path(args.out)
    save_artifact(
        out, model, model_name="adaptive_linear", feature_kind=FEATURE_KIND, seed=SEED, metrics=metrics,
        protocol={"kfold": "grouped_kfold(actors, n_splits=5, seed=42)", "random": "random_split(test_size=0.2, seed=42)"},
        training={"data": "ravdess-16k actors 01-20", "n_clips": int(len(y)), "command": " ".join(sys.argv),
                  "augmentation": [augmentation.key for augmentation in augmentations]},
        description=describe(args.C, class_weight, augmentations),
    )
    loaded = load_model(out)
    latency = latency_per_clip_ms(loaded, repeats=10)
    update_metrics(out, {"latency_ms_per_3s_clip": latency})
    print(f"saved {out}; latency {latency:.1f} ms per 3-s clip", flush=True)
    if args.set_default:
        set_default_model(out.name, root=out.parent)
        print(f"default model -> {out.name}")


if __name__ == "__main__":
    main()
