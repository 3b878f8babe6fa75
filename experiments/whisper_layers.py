"""Which layer of Whisper-base's encoder carries emotion: per-layer features, then new-speaker scores.

Step ``extract``: every clip of a corpus (the RAVDESS folder, through the library's index
without duplicates, or a manifest CSV with columns path,label,speaker[,corpus]) is
preprocessed as the library does (``PreprocessSettings()``: trim at 20 dB, peak
normalise), run once through the NumPy encoder (:mod:`ser_core.features.whisper`), and
pooled per hidden state (mean and std over time: 1,024 values per layer, index 0 = the
convolutional front end, 6 = top layer after the final LayerNorm) and for the average of
all hidden states (the ``WHISPER-BASE-ALL`` kind). One ``.npz`` holds ``layers``
(n_clips, 7, 1024), ``all`` (n_clips, 1024), ``paths``, ``labels``, ``speakers``,
``corpus`` and ``failed`` (path and reason of each clip that gave no features).

Step ``evaluate``: per layer, 5-fold cross-validation grouped by speaker (the library's
``grouped_kfold``, seed 42), standardised on the training part, balanced logistic
regression; accuracy and UAR (mean ± std over folds) go to a JSON file.

Step ``loco``: leave one corpus out per layer (train on the other corpora's .npz files,
score the left-out corpus on the labels it shares with them), after z-scoring globally, per
corpus or per speaker (no labels used).

Usage:
    nice -n 15 python experiments/whisper_layers.py extract --features /work/features/whisper_ravdess.npz
    nice -n 15 python experiments/whisper_layers.py extract --manifest /work/corpora/tess.csv \\
        --features /work/features/whisper_tess.npz
    nice -n 10 python experiments/whisper_layers.py evaluate --features /work/features/whisper_ravdess.npz \\
        --out results/whisper_layers_ravdess.json
    nice -n 10 python experiments/whisper_layers.py loco \\
        --features /work/features/whisper_{ravdess,tess,savee,turev}.npz --out results/whisper_layers_loco.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
SEED = 42


def clip_table(*, data=None, manifest=None):
    """``(paths, labels, speakers, corpus)`` of a RAVDESS-style folder or of a manifest CSV."""
    if manifest is not None:
        import pandas as pd

        table = pd.read_csv(manifest)
        missing = {"path", "label", "speaker"} - set(table.columns)
        if missing:
            raise SystemExit(f"{manifest} lacks the columns {sorted(missing)}; expected path,label,speaker[,corpus]")
        root = Path(manifest).parent
        paths = [str(p if Path(p).is_absolute() else root / p) for p in table["path"]]
        corpus = table["corpus"].astype(str) if "corpus" in table else [Path(manifest).stem] * len(table)
        return paths, list(table["label"].astype(str)), list(table["speaker"].astype(str)), list(corpus)
    from ser_core.data.index import index_corpus

    index = index_corpus(str(data))
    clips = index.clips[index.clips["duplicate_of"].isna()].reset_index(drop=True)
    return (list(clips["path"].astype(str)), list(clips["label"].astype(str)),
            list(clips["speaker"].astype(str)), list(clips["corpus"].astype(str)))


def extract(args):
    """Pool every hidden state of every clip; write the .npz (atomically) and print timings."""
    from ser_core.audio.preprocess import PreprocessSettings, load_clip
    from ser_core.features import whisper

    paths, labels, speakers, corpus = clip_table(data=args.data, manifest=args.manifest)
    if args.limit:
        paths, labels, speakers, corpus = (v[:args.limit] for v in (paths, labels, speakers, corpus))
    n_states = whisper.N_LAYERS + 1
    layers = np.full((len(paths), n_states, 2 * whisper.WIDTH), np.nan, dtype=np.float32)
    average = np.full((len(paths), 2 * whisper.WIDTH), np.nan, dtype=np.float32)
    failed = []
    settings = PreprocessSettings(top_db=None if args.top_db == "none" else float(args.top_db))
    start = time.perf_counter()
    for row, path in enumerate(paths):
        try:
            states = whisper.hidden_states(load_clip(path, settings=settings))
        except Exception as exc:  # noted per clip, as the library's corpus extraction does
            failed.append((path, f"{type(exc).__name__}: {exc}"))
            continue
        layers[row] = [whisper.mean_std(state) for state in states]
        average[row] = whisper.mean_std(whisper.select_layers(states, "all"))
        if (row + 1) % 100 == 0:
            elapsed = time.perf_counter() - start
            print(f"{row + 1}/{len(paths)} clips, {1000 * elapsed / (row + 1):.0f} ms per clip", flush=True)
    out = Path(args.features)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial.npz")
    np.savez_compressed(tmp, layers=layers, all=average, paths=np.array(paths), labels=np.array(labels),
                        speakers=np.array(speakers), corpus=np.array(corpus),
                        failed=np.array(failed, dtype=str).reshape(-1, 2))
    tmp.replace(out)
    elapsed = time.perf_counter() - start
    print(f"wrote {out}: {len(paths) - len(failed)} clips, {len(failed)} failed, "
          f"{elapsed:.0f} s ({1000 * elapsed / max(1, len(paths)):.0f} ms per clip incl. loading)")


def cross_validate(X, labels, speakers, *, C, n_splits=5):
    """Accuracy and UAR per fold of balanced logistic regression, 5-fold grouped by speaker."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ser_core.data.splits import grouped_kfold
    from ser_core.scoring.metrics import evaluate_predictions

    order = sorted(set(labels))
    folds = []
    for train, test in grouped_kfold(speakers, n_splits=n_splits, labels=labels, seed=SEED):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=2000))
        model.fit(X[train], labels[train])
        metrics = evaluate_predictions(labels[test], model.predict(X[test]), labels=order)
        folds.append({"accuracy": metrics["accuracy"], "uar": metrics["uar"]})
    return folds


def evaluate(args):
    """Score each layer (and the all-layer average) and write the JSON table."""
    data = np.load(args.features)
    ok = ~np.isnan(data["all"]).any(axis=1)
    labels, speakers = data["labels"][ok], data["speakers"][ok]
    sets = {f"L{i}": data["layers"][ok, i] for i in range(data["layers"].shape[1])}
    sets["ALL"] = data["all"][ok]
    rows = []
    for C in args.C:
        for name, X in sets.items():
            folds = cross_validate(X, labels, speakers, C=C)
            row = {"features": name, "C": C}
            for key in ("accuracy", "uar"):
                values = np.array([fold[key] for fold in folds])
                row[key] = {"mean": float(values.mean()), "std": float(values.std()), "folds": values.tolist()}
            rows.append(row)
            print(f"C={C:<5} {name:4} acc {100 * row['accuracy']['mean']:.1f} ± {100 * row['accuracy']['std']:.1f}"
                  f" | UAR {100 * row['uar']['mean']:.1f} ± {100 * row['uar']['std']:.1f}", flush=True)
    result = {
        "experiment": "whisper_layers", "features": str(args.features), "n_clips": int(ok.sum()),
        "n_speakers": int(len(set(speakers))), "labels": sorted(set(labels)),
        "protocol": "5-fold grouped by speaker (grouped_kfold, seed 42), StandardScaler + "
                    "LogisticRegression(class_weight='balanced'), mean and std of each layer over time",
        "command": " ".join(sys.argv), "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


def _standardise_within(X, groups):
    """Z-score every row by the mean and std of its group (corpus or speaker): no labels used."""
    X = X.copy()
    for group in np.unique(groups):
        rows = groups == group
        X[rows] = (X[rows] - X[rows].mean(0)) / (X[rows].std(0) + 1e-6)
    return X


def loco(args):
    """Leave one corpus out, per layer: train on the others, score the left-out one on its own labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ser_core.scoring.metrics import evaluate_predictions

    parts = [np.load(path) for path in args.features]
    ok = [~np.isnan(part["all"]).any(axis=1) for part in parts]
    labels = np.concatenate([part["labels"][m] for part, m in zip(parts, ok)])
    speakers = np.concatenate([part["speakers"][m] for part, m in zip(parts, ok)])
    corpus = np.concatenate([np.full(m.sum(), Path(path).stem.removeprefix("whisper_"))
                             for path, m in zip(args.features, ok)])
    speakers = np.char.add(np.char.add(corpus, ":"), speakers.astype(str))
    n_layers = parts[0]["layers"].shape[1]
    sets = {f"L{i}": np.concatenate([part["layers"][m, i] for part, m in zip(parts, ok)]) for i in range(n_layers)}
    sets["ALL"] = np.concatenate([part["all"][m] for part, m in zip(parts, ok)])
    rows = []
    for norm in args.norm:
        for name, X in sets.items():
            X = _standardise_within(X, {"corpus": corpus, "speaker": speakers}[norm]) if norm != "global" else X
            row = {"features": name, "norm": norm, "C": args.C, "corpora": {}}
            for held in np.unique(corpus):
                train, test = corpus != held, corpus == held
                shared = sorted(set(labels[test]) & set(labels[train]))
                if args.shared_only:
                    train &= np.isin(labels, shared)
                scaler = StandardScaler().fit(X[train])
                model = LogisticRegression(C=args.C, class_weight="balanced", max_iter=2000)
                model.fit(scaler.transform(X[train]), labels[train])
                scores = model.decision_function(scaler.transform(X[test]))
                allowed = np.isin(model.classes_, shared)  # the choice is restricted to the corpus's labels
                predicted = model.classes_[allowed][scores[:, allowed].argmax(1)]
                keep = np.isin(labels[test], shared)
                metrics = evaluate_predictions(labels[test][keep], predicted[keep], labels=shared)
                row["corpora"][str(held)] = {"accuracy": metrics["accuracy"], "uar": metrics["uar"],
                                             "labels": shared, "n_clips": int(keep.sum())}
            row["mean_uar"] = float(np.mean([c["uar"] for c in row["corpora"].values()]))
            rows.append(row)
            cells = " ".join(f"{c} {100 * v['uar']:.1f}" for c, v in row["corpora"].items())
            print(f"{norm:7} {name:4} UAR: {cells} | mean {100 * row['mean_uar']:.1f}", flush=True)
    result = {
        "experiment": "whisper_layers loco", "features": [str(p) for p in args.features],
        "protocol": "leave one corpus out: StandardScaler + LogisticRegression(class_weight='balanced') trained on "
                    "the other corpora, the left-out corpus scored on the labels it shares with them (choice "
                    "restricted to those); norm = z-scoring per corpus or per speaker before that, no labels used",
        "command": " ".join(sys.argv), "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    ext = steps.add_parser("extract", help="per-layer features of a corpus into an .npz")
    source = ext.add_mutually_exclusive_group()
    source.add_argument("--data", default=str(DATA), help="RAVDESS-style folder (default ../shared/data/ravdess-16k)")
    source.add_argument("--manifest", default=None, help="CSV with path,label,speaker[,corpus]")
    ext.add_argument("--features", required=True, help="the .npz to write")
    ext.add_argument("--top-db", default="20", help="trim threshold in dB, 'none' keeps silences (default 20)")
    ext.add_argument("--limit", type=int, default=None, help="only the first N clips (smoke tests)")
    ev = steps.add_parser("evaluate", help="per-layer new-speaker scores from an .npz")
    ev.add_argument("--features", required=True, help="the .npz written by extract")
    ev.add_argument("--C", type=float, nargs="+", default=[0.1, 1.0], help="inverse regularisation strengths")
    ev.add_argument("--out", required=True, help="the JSON to write")
    lo = steps.add_parser("loco", help="leave-one-corpus-out scores per layer from several .npz")
    lo.add_argument("--features", required=True, nargs="+", help=".npz files named whisper_<corpus>.npz")
    lo.add_argument("--norm", nargs="+", default=["global", "corpus", "speaker"],
                    choices=["global", "corpus", "speaker"], help="z-scoring before training (default: all three)")
    lo.add_argument("--C", type=float, default=0.1, help="inverse regularisation strength (default 0.1)")
    lo.add_argument("--shared-only", action="store_true", help="train only on the left-out corpus's labels")
    lo.add_argument("--out", required=True, help="the JSON to write")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on a shared 2-core machine more threads made each fit 8x slower.
    with threadpool_limits(limits=1, user_api="blas"):
        {"extract": extract, "evaluate": evaluate, "loco": loco}[args.step](args)


if __name__ == "__main__":
    main()
