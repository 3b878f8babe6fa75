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

Usage:
    nice -n 15 python experiments/whisper_layers.py extract --features /work/features/whisper_ravdess.npz
    nice -n 15 python experiments/whisper_layers.py extract --manifest /work/corpora/tess.csv \\
        --features /work/features/whisper_tess.npz
    nice -n 10 python experiments/whisper_layers.py evaluate --features /work/features/whisper_ravdess.npz \\
        --out results/whisper_layers_ravdess.json
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
    return (list(clips["path"].astype(str)), list(clips["emotion"].astype(str)),
            list(clips["actor"].astype(str)), list(clips["corpus"].astype(str)))


def extract(args):
    """Pool every hidden state of every clip; write the .npz (atomically) and print timings."""
    from threadpoolctl import threadpool_limits

    from ser_core.audio.preprocess import PreprocessSettings, load_clip
    from ser_core.features import whisper

    paths, labels, speakers, corpus = clip_table(data=args.data, manifest=args.manifest)
    if args.limit:
        paths, labels, speakers, corpus = (v[:args.limit] for v in (paths, labels, speakers, corpus))
    n_states = whisper.N_LAYERS + 1
    layers = np.full((len(paths), n_states, 2 * whisper.WIDTH), np.nan, dtype=np.float32)
    average = np.full((len(paths), 2 * whisper.WIDTH), np.nan, dtype=np.float32)
    failed = []
    settings = PreprocessSettings()
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads, user_api="blas"):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    ext = steps.add_parser("extract", help="per-layer features of a corpus into an .npz")
    source = ext.add_mutually_exclusive_group()
    source.add_argument("--data", default=str(DATA), help="RAVDESS-style folder (default ../shared/data/ravdess-16k)")
    source.add_argument("--manifest", default=None, help="CSV with path,label,speaker[,corpus]")
    ext.add_argument("--features", required=True, help="the .npz to write")
    ext.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    ext.add_argument("--limit", type=int, default=None, help="only the first N clips (smoke tests)")
    ev = steps.add_parser("evaluate", help="per-layer new-speaker scores from an .npz")
    ev.add_argument("--features", required=True, help="the .npz written by extract")
    ev.add_argument("--C", type=float, nargs="+", default=[0.1, 1.0], help="inverse regularisation strengths")
    ev.add_argument("--out", required=True, help="the JSON to write")
    args = parser.parse_args()
    extract(args) if args.step == "extract" else evaluate(args)


if __name__ == "__main__":
    main()
