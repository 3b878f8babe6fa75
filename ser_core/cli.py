"""Command line interface: ``python -m ser_core <command> ...``.

Each command is one ``_add_<name>_parser(subparsers)`` that declares its arguments and
one ``_cmd_<name>(args) -> int`` that runs it; :data:`_COMMANDS` lists the parser
builders. Every :class:`~ser_core.errors.SERError` ends as ``error: <message>`` on
stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from ser_core import __version__
from ser_core.errors import SERError

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _progress_bar(*, description: str, unit: str = "it", unit_scale: bool = False):
    """Return ``(callback, close)``: a ``progress(done, total)`` callback drawing a tqdm bar.

    The bar appears on the first callback, so a command that fails before any
    progress prints only its error.
    """
    bars = []

    def update(done: int, total) -> None:
        if not bars:
            from tqdm import tqdm

            bars.append(tqdm(desc=description, unit=unit, unit_scale=unit_scale, file=sys.stderr))
        bar = bars[0]
        if total is not None and bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    def close() -> None:
        for bar in bars:
            bar.close()

    return update, close


# ---------------------------------------------------------------- index


def _add_index_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "index", help="list and label the clips of a corpus folder or zip",
        description="Index a corpus (RAVDESS, CREMA-D, TESS, SAVEE or EmoDB; folder or zip) "
        "and print a summary per emotion plus every skipped file with its reason.",
    )
    parser.add_argument("path", help="corpus folder (any depth) or .zip")
    parser.add_argument("--corpus", default="auto", help="auto (default), ravdess, crema-d, tess, savee or emodb")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(handler=_cmd_index)


def _format_summary(summary: dict) -> str:
    lines = [
        f"corpus: {summary['corpus']}",
        f"clips: {summary['n_clips']}",
        f"actors: {summary['n_actors']}",
        "",
        f"{'emotion':<12}{'clips':>7}",
    ]
    lines += [f"{emotion:<12}{count:>7}" for emotion, count in summary["by_emotion"].items()]
    lines.append(f"{'total':<12}{summary['n_clips']:>7}")
    skipped = summary["skipped"]
    lines += ["", f"skipped: {len(skipped)} file(s)"]
    lines += [f"  {item['path']}: {item['reason']}" for item in skipped]
    return "\n".join(lines)


def _cmd_index(args) -> int:
    from ser_core.corpus import index_corpus, summarize

    summary = summarize(index_corpus(args.path, corpus=args.corpus))
    print(json.dumps(summary) if args.json else _format_summary(summary))
    return EXIT_OK


# ---------------------------------------------------------------- download


def _add_download_parser(subparsers) -> None:
    from ser_core.download import RAVDESS_URL

    parser = subparsers.add_parser(
        "download", help="download RAVDESS speech from Zenodo",
        description="Download the RAVDESS speech archive (about 208 MB), resumably, check it "
        "and unpack it into a folder.",
    )
    parser.add_argument("--to", required=True, type=Path, help="folder to unpack Actor_01..Actor_24 into")
    parser.add_argument("--url", default=RAVDESS_URL, help="archive URL (default: the Zenodo record)")
    parser.add_argument(
        "--expected-clips", type=int, default=1440, help="speech clips the archive must hold (default 1440)"
    )
    parser.set_defaults(handler=_cmd_download)


def _cmd_download(args) -> int:
    from ser_core.download import download_ravdess

    update, close = _progress_bar(description="download", unit="B", unit_scale=True)
    try:
        folder = download_ravdess(args.to, url=args.url, expected_clips=args.expected_clips, progress=update)
    finally:
        close()
    print(f"RAVDESS speech is ready in {folder}")
    return EXIT_OK


# ---------------------------------------------------------------- features


def _add_features_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "features", help="extract one feature kind for every clip of a corpus",
        description="Extract features for every clip of a corpus and save them with their "
        "labels, actors and paths in an .npz file.",
    )
    parser.add_argument("--data", required=True, help="corpus folder or .zip")
    parser.add_argument("--kind", required=True, help="feature kind, e.g. MFCC-16000-40")
    parser.add_argument("--out", type=Path, default=None, help="output .npz (default: <kind>.npz)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel workers (default: all cores)")
    parser.add_argument("--corpus", default="auto", help="corpus naming (default: auto)")
    parser.set_defaults(handler=_cmd_features)


def _cmd_features(args) -> int:
    import numpy as np

    from ser_core.corpus import index_corpus

    # Looked up at call time so the features module is only imported when needed.
    features = importlib.import_module("ser_core.features")
    spec = features.parse_kind(args.kind)
    index = index_corpus(args.data, corpus=args.corpus)
    clips = index.clips
    out = args.out if args.out is not None else Path(f"{spec.name}.npz")
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")  # np.savez would append it anyway
    update, close = _progress_bar(description=f"features {spec.name}", unit="clip")
    try:
        matrix = features.extract_corpus(clips["path"].tolist(), spec=spec, n_jobs=args.jobs, progress=update)
    finally:
        close()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        features=np.asarray(matrix),
        labels=clips["emotion"].to_numpy(dtype=str),
        actors=clips["actor"].to_numpy(dtype=str),
        paths=clips["path"].to_numpy(dtype=str),
        kind=np.array(spec.name),
    )
    print(f"{len(clips)} clips x {tuple(np.shape(matrix))[1:]} {spec.name} features -> {out}")
    return EXIT_OK


# ---------------------------------------------------------------- train


_STUDY_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ravdess-16k"


def _add_train_parser(subparsers) -> None:
    from ser_core.models.registry import MODEL_NAMES

    parser = subparsers.add_parser(
        "train", help="train a model under a protocol and save it as a model folder",
        description="Evaluate a model under a protocol (random split, grouped k-fold by actor or held-out "
        "actors), then fit it on all the data and save it with its metrics and model card.",
    )
    parser.add_argument("--data", required=True, help="corpus folder or .zip")
    parser.add_argument("--model", required=True, choices=MODEL_NAMES, help="model name")
    parser.add_argument("--features", default="MFCC-16000-40", help="feature kind (default MFCC-16000-40)")
    parser.add_argument("--protocol", default="random", choices=("random", "kfold", "holdout"))
    parser.add_argument("--folds", type=int, default=5, help="folds of the kfold protocol (default 5)")
    parser.add_argument("--test-actors", default="", help="held-out actors, e.g. 1,2 (holdout protocol)")
    parser.add_argument("--loss", default="crossentropy", choices=("crossentropy", "focal"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=36)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--augment", default="", help="augmented copies of the training clips, e.g. "
                        "speed0.9,speed1.1 or pitch-2,pitch2 (default: none; never applied to test clips)")
    parser.add_argument("--out", required=True, type=Path, help="model folder to write")
    parser.set_defaults(handler=_cmd_train)


def _print_epoch(record) -> None:
    if "loss" not in record:
        return
    print(
        f"[{record.get('protocol')} fold {record.get('fold')}/{record.get('n_folds')}] epoch {record['epoch']}: "
        f"loss {record['loss']:.4f} acc {record['accuracy']:.4f} val_loss {record['val_loss']:.4f} "
        f"val_acc {record['val_accuracy']:.4f} lr {record['lr']:.2e}",
        flush=True,
    )


def _cmd_train(args) -> int:
    from ser_core.artifacts import load_model, update_metrics
    from ser_core.evaluate import latency_per_clip_ms
    from ser_core.train import TrainConfig, save_result, train

    actors = tuple(actor.strip() for actor in args.test_actors.split(",") if actor.strip())
    config = TrainConfig(
        model=args.model, features=args.features, protocol=args.protocol, n_folds=args.folds, test_actors=actors,
        loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
        augment=tuple(key.strip() for key in args.augment.split(",") if key.strip()),  # TrainConfig checks them
    )
    result = train(config, data=args.data, progress=_print_epoch)
    folder = save_result(result, args.out)
    latency = latency_per_clip_ms(load_model(folder, trust=True), repeats=5)
    update_metrics(folder, {"latency_ms_per_3s_clip": round(latency, 2)})
    summary = result.metrics["summary"]
    print(f"{result.metrics['description']}: " + ", ".join(
        f"{key} {value['mean']:.4f} ± {value['std']:.4f}" for key, value in summary.items()))
    print(f"saved {folder}")
    return EXIT_OK


# ---------------------------------------------------------------- evaluate


def _add_evaluate_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="evaluate a model folder on a corpus",
        description="Classify every clip of a corpus with a saved model and print accuracy, UAR, "
        "macro F1, the classification report and the confusion matrix (rows = true labels).",
    )
    parser.add_argument("--model", required=True, type=Path, help="model folder")
    parser.add_argument("--data", required=True, help="corpus folder or .zip")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trust", action="store_true", help="allow pickled weights from outside artifacts/")
    parser.set_defaults(handler=_cmd_evaluate)


def _cmd_evaluate(args) -> int:
    from ser_core.artifacts import load_model
    from ser_core.evaluate import evaluate_model, format_report

    metrics = evaluate_model(load_model(args.model, trust=args.trust), args.data)
    if args.json:
        keys = ("accuracy", "uar", "macro_f1", "labels", "confusion", "per_class", "n_clips",
                "best_emotion", "worst_emotion", "ranked_by", "model", "data")
        print(json.dumps({key: metrics[key] for key in keys}))
    else:
        print(format_report(metrics))
        print("\nconfusion (rows = true, columns = predicted): " + " ".join(metrics["labels"]))
        for label, row in zip(metrics["labels"], metrics["confusion"]):
            print(f"{label:<12}" + "".join(f"{count:>6d}" for count in row))
    return EXIT_OK


# ---------------------------------------------------------------- predict


def _add_predict_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="classify audio files or folders",
        description="Classify audio files (folders are searched recursively) with a saved model; "
        "an unreadable file is reported and the others go on.",
    )
    parser.add_argument("paths", nargs="+", help="audio files or folders")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: artifacts/DEFAULT)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--trust", action="store_true", help="allow pickled weights from outside artifacts/")
    parser.add_argument("--speaker-adapt", action="store_true",
                        help="group the files by speaker and calibrate the model to each speaker from that "
                        "speaker's own clips (needs a model with a speaker-adapted head, e.g. the default)")
    parser.add_argument("--speaker-of", default="auto", choices=("auto", "folder", "ravdess"),
                        help="how --speaker-adapt finds the speaker: auto (RAVDESS actor from the file name, "
                        "else the parent folder; default), folder or ravdess")
    parser.add_argument("--prior-clips", type=float, default=4.0,
                        help="with --speaker-adapt: shrink each speaker's statistics toward the training "
                        "population by this many clips (default 4; 0 = the speaker's clips only)")
    parser.set_defaults(handler=_cmd_predict)


def _format_prediction(record: dict) -> str:
    """One human-readable line for a predict record."""
    if "error" in record:
        return f"{record['path']}: error: {record['error']}"
    line = f"{record['path']}: {record['label']} ({100 * record['probabilities'][record['label']]:.1f}%)"
    if "speaker" in record:
        how = "adapted" if record["adapted"] else "single clip, too few clips to adapt"
        line += f" [{record['speaker']}, {how}; single clip: {record['single_clip_label']}]"
    return line


def _cmd_predict(args) -> int:
    from ser_core.artifacts import default_model_dir, load_model
    from ser_core.predict import predict_many, predict_speakers

    model = load_model(args.model if args.model is not None else default_model_dir(), trust=args.trust)
    if args.speaker_adapt:
        records = predict_speakers(args.paths, model, speaker_of_file=args.speaker_of,
                                   prior_clips=args.prior_clips)
        for note in sorted({f"{r['speaker']}: {r['note']}" for r in records if "note" in r}):
            print(f"warning: {note}", file=sys.stderr)
    else:
        records = predict_many(args.paths, model)
    failures = 0
    for record in records:
        failures += "error" in record
        print(json.dumps(record) if args.json else _format_prediction(record), flush=True)
    return EXIT_ERROR if failures else EXIT_OK


# ---------------------------------------------------------------- compare


def _add_compare_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare every saved model", description="The comparison table over all model folders."
    )
    parser.add_argument("--root", type=Path, default=None, help="folder of model folders (default: artifacts/)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(handler=_cmd_compare)


def _comparison_rows(root):
    from ser_core.artifacts import list_artifacts

    rows = []
    for item in list_artifacts(root):
        if "error" in item:
            rows.append({"name": item["name"], "error": item["error"]})
            continue
        metrics = item["metrics"]
        for protocol, result in metrics.get("protocols", {}).items():
            summary = result.get("summary", {})
            rows.append({
                "name": item["name"], "model": item["model"], "features": item["features"],
                "protocol": protocol, "description": result.get("description", protocol),
                **{key: summary[key]["mean"] for key in ("accuracy", "uar", "macro_f1", "train_accuracy") if key in summary},
                **{f"{key}_std": summary[key]["std"] for key in ("accuracy", "uar") if key in summary},
                "n_parameters": metrics.get("n_parameters"), "size_bytes": metrics.get("size_bytes"),
                "latency_ms_per_3s_clip": metrics.get("latency_ms_per_3s_clip"),
            })
    return rows


def _cmd_compare(args) -> int:
    rows = _comparison_rows(args.root)
    if args.json:
        print(json.dumps(rows))
        return EXIT_OK
    print(f"{'model folder':<20}{'protocol':<10}{'test acc':>14}{'UAR':>14}{'macro F1':>10}{'params':>10}{'MB':>7}{'ms/3s':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['name']:<20}error: {row['error']}")
            continue
        print(
            f"{row['name']:<20}{row['protocol']:<10}"
            f"{100 * row['accuracy']:>7.2f}±{100 * row['accuracy_std']:<5.2f}{100 * row['uar']:>8.2f}±{100 * row['uar_std']:<5.2f}"
            f"{row['macro_f1']:>10.3f}{row['n_parameters'] or 0:>10d}{(row['size_bytes'] or 0) / 1e6:>7.2f}"
            f"{row['latency_ms_per_3s_clip'] or float('nan'):>8.1f}"
        )
    return EXIT_OK


# ---------------------------------------------------------------- reproduce


def _add_reproduce_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="reproduce the study's four systems and write results/study.md",
        description="Train and evaluate LSTM, CNN, CNN+LSTM (MFCC-16000-40) and Wav2Vec2 + RF under the "
        "study's random split and speaker-independent 5-fold; write the results table.",
    )
    parser.add_argument("--data", default=str(_STUDY_DATA), help=f"RAVDESS folder (default {_STUDY_DATA})")
    parser.add_argument("--out", type=Path, default=Path("results/study.md"), help="Markdown file to write")
    parser.add_argument("--quick", action="store_true", help="2 epochs and 2 folds: a smoke test")
    parser.add_argument("--ship", action="store_true", help="also save the Keras models into artifacts/study-*")
    parser.add_argument("--artifacts", type=Path, default=None, help="where --ship saves (default: artifacts/)")
    parser.add_argument("--wav2vec2", default=None, help="local Wav2Vec2 model folder (default: the hub's wav2vec2-base)")
    parser.add_argument("--seed", type=int, default=42)
    parser.set_defaults(handler=_cmd_reproduce)


def _cmd_reproduce(args) -> int:
    import shlex

    from ser_core.reproduce import reproduce_study

    parts = ["python -m ser_core reproduce"]
    if args.data != str(_STUDY_DATA):
        parts.append(f"--data {shlex.quote(args.data)}")
    if args.out != Path("results/study.md"):
        parts.append(f"--out {shlex.quote(str(args.out))}")
    parts += [flag for flag, on in (("--quick", args.quick), ("--ship", args.ship)) if on]
    for flag, value in (("--artifacts", args.artifacts), ("--wav2vec2", args.wav2vec2)):
        if value is not None:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    if args.seed != 42:
        parts.append(f"--seed {args.seed}")
    command = " ".join(parts)
    results = reproduce_study(
        args.data, out=args.out, quick=args.quick, ship=args.ship, artifacts_root=args.artifacts,
        wav2vec2=args.wav2vec2, seed=args.seed, command=command, log=lambda line: print(line, flush=True),
    )
    for system, reason in results["not_run"].items():
        print(f"{system} not run: {reason}")
    return EXIT_OK


# ---------------------------------------------------------------- entry point

#: Parser builders, one per command, in the order ``--help`` lists them.
_COMMANDS = (
    _add_index_parser, _add_download_parser, _add_features_parser,
    _add_train_parser, _add_evaluate_parser, _add_predict_parser, _add_compare_parser, _add_reproduce_parser,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m ser_core", description="Speech emotion recognition studio: corpus, features and models."
    )
    parser.add_argument("--version", action="version", version=f"ser_core {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in _COMMANDS:
        add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run one command; return its exit code (2 and ``error: ...`` on stderr for a SERError)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SERError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
