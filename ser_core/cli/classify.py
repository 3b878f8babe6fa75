"""CLI command ``predict``: classify files and folders; long recordings become a timeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ser_core.cli import EXIT_ERROR, EXIT_OK, add_scheduler_argument, progress_bar


def add_predict_parser(subparsers) -> None:
    from ser_core.serving.predict import LONG_RECORDING_S
    from ser_core.serving.speakers import DEFAULT_PRIOR_CLIPS

    parser = subparsers.add_parser(
        "predict", help="classify audio files or folders",
        description="Classify audio files (folders are searched recursively; a CSV/Parquet manifest stands for "
        "the files it lists) with a saved model; an unreadable file is reported and the others go on. A file "
        f"longer than {LONG_RECORDING_S:g} s is classified per 3-s window (one record each) followed by a summary "
        "record. --csv writes the same records as a table: path, row (clip, segment or summary), start_s, "
        "end_s, label, one prob_<label> column per label of the model, error.",
    )
    parser.add_argument("paths", nargs="+", help="audio files, folders or manifests")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: artifacts/DEFAULT)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--trust", action="store_true", help="allow pickled weights from outside artifacts/")
    parser.add_argument("--speaker-adapt", action="store_true",
                        help="group the files by speaker and calibrate the model to each speaker from that "
                        "speaker's own clips (needs a model with a speaker-adapted head, e.g. the default)")
    parser.add_argument("--speaker-of", default="auto", choices=("auto", "folder", "ravdess"),
                        help="how --speaker-adapt finds the speaker: auto (RAVDESS actor from the file name, "
                        "else the parent folder; default), folder or ravdess")
    parser.add_argument("--prior-clips", type=float, default=DEFAULT_PRIOR_CLIPS,
                        help="with --speaker-adapt: shrink each speaker's statistics toward the training "
                        f"population by this many clips (default {DEFAULT_PRIOR_CLIPS:g}; 0 = the speaker's clips only)")
    parser.add_argument("--csv", default=None, metavar="FILE",
                        help="also write the records as CSV to FILE ('-': to stdout, instead of the lines)")
    parser.add_argument("--allow-outside", action="store_true",
                        help="read manifest rows whose path leaves the manifest's folder")
    add_scheduler_argument(parser, what="the classification (batches of files; --speaker-adapt always runs here)")
    parser.set_defaults(handler=run_predict)


def format_record(record: dict) -> str:
    """One human-readable line for a predict record."""
    if "error" in record:
        where = f" [{record['start_s']:.1f}-{record['end_s']:.1f} s]" if "start_s" in record else ""
        if not where and str(record["path"]) in record["error"]:
            return f"error: {record['error']}"  # the message already names the file
        return f"{record['path']}{where}: error: {record['error']}"
    share = record["probabilities"][record["label"]]
    if record.get("summary"):
        return (f"{record['path']}: mostly {record['label']} ({100 * record['share']:.0f}% of "
                f"{record['n_segments']} windows over {record['duration_s']:.0f} s)")
    if "start_s" in record:
        return f"{record['path']} [{record['start_s']:.1f}-{record['end_s']:.1f} s]: {record['label']} ({100 * share:.1f}%)"
    line = f"{record['path']}: {record['label']} ({100 * share:.1f}%)"
    if "speaker" in record:
        how = "adapted" if record["adapted"] else "single clip, too few clips to adapt"
        line += f" [{record['speaker']}, {how}; single clip: {record['single_clip_label']}]"
    if record.get("warning"):
        line += f" (warning: {record['warning']})"
    return line


def run_predict(args) -> int:
    from ser_core.distributed import LOCAL, resolve_scheduler
    from ser_core.errors import InputError
    from ser_core.modelfolder.read import default_model_dir, load_model
    from ser_core.serving.exports import PredictionsCsv
    from ser_core.serving.predict import iter_predictions
    from ser_core.serving.speakers import predict_speakers

    if args.speaker_adapt and args.scheduler not in (None, LOCAL):
        raise InputError("--speaker-adapt runs on this machine (each speaker's clips are calibrated together); "
                         "drop --scheduler")
    model = load_model(args.model if args.model is not None else default_model_dir(), trust=args.trust)
    update, close = None, lambda: None
    if args.speaker_adapt:
        records = predict_speakers(args.paths, model, speaker_of_file=args.speaker_of, prior_clips=args.prior_clips)
        for note in sorted({f"{r['speaker']}: {r['note']}" for r in records if "note" in r}):
            print(f"warning: {note}", file=sys.stderr)
    else:
        if resolve_scheduler() is not None:  # a bar for cluster jobs; locally each record prints as it comes
            update, close = progress_bar(description="predict", unit="file")
        records = iter_predictions(args.paths, model, allow_outside=args.allow_outside, progress=update)
    to_stdout = args.csv == "-"
    handle = None
    if args.csv and not to_stdout:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        handle = open(args.csv, "w", encoding="utf-8", newline="")
    table = PredictionsCsv(sys.stdout if to_stdout else handle, labels=model.labels) if args.csv else None
    failures = 0
    try:
        for record in records:
            failures += "error" in record and "start_s" not in record
            if table is not None:
                table.write(record)
            if not to_stdout:
                print(json.dumps(record) if args.json else format_record(record), flush=True)
    finally:
        close()
        if handle is not None:
            handle.close()
            print(f"wrote {table.rows} rows to {args.csv}", file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


PARSERS = (add_predict_parser,)
