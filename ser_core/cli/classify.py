"""CLI command ``predict``: classify files and folders; long recordings become a timeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ser_core.cli import EXIT_ERROR, EXIT_OK, add_scheduler_argument, progress_bar


def add_predict_parser(subparsers) -> None:
    from ser_core.serving.segments import HOP_S, LONG_CLIP_S, SEGMENT_S
    from ser_core.serving.speakers import DEFAULT_PRIOR_CLIPS

    parser = subparsers.add_parser(
        "predict", help="classify audio files or folders",
        description="Classify audio files (folders are searched recursively; a CSV/Parquet manifest stands for "
        "the files it lists) with a saved model; an unreadable file is reported and the others go on. A file "
        f"longer than {LONG_CLIP_S:g} s is classified per {SEGMENT_S:g}-s window, one every {HOP_S:g} s (one "
        "record each), followed by a summary record. --csv writes the same records as a table: path, row (clip, "
        "segment or summary), start_s, end_s, label, one prob_<label> column per label of the model, error.",
    )
    parser.add_argument("paths", nargs="+", help="audio files, folders or manifests")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: artifacts/DEFAULT)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--trust", action="store_true", help="allow pickled weights from outside artifacts/")
    parser.add_argument("--speaker-adapt", "--adapt-to-speakers", dest="speaker_adapt", action="store_true",
                        help="group the files by speaker and adapt the model to each speaker from that "
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


def format_prediction(prediction) -> str:
    """One human-readable line for a :class:`~ser_core.modelfolder.prediction.Prediction`."""
    from ser_core.modelfolder.prediction import TimelineSummary

    path = prediction.source
    where = f" [{prediction.start_s:.1f}-{prediction.end_s:.1f} s]" if prediction.is_window else ""
    if isinstance(prediction, TimelineSummary):
        if not prediction.ok:
            return f"{path}: error: {prediction.error}"
        return (f"{path}: mostly {prediction.label} ({100 * prediction.share:.0f}% of "
                f"{prediction.n_segments} windows over {prediction.duration_s:.0f} s)")
    if not prediction.ok:
        if not where and path in prediction.error:
            return f"error: {prediction.error}"  # the message already names the file
        return f"{path}{where}: error: {prediction.error}"
    line = f"{path}{where}: {prediction.label} ({100 * prediction.score:.1f}%)"
    if prediction.speaker is not None:
        how = "adapted" if prediction.adapted else "single clip, too few clips to adapt"
        single = prediction.single_clip.label if prediction.single_clip is not None else prediction.label
        return line + f" [{prediction.speaker}, {how}; single clip: {single}]"
    if prediction.warning:
        line += f" (warning: {prediction.warning})"
    return line


def _predictions(args, model):
    """The predictions to print, and the progress bar's ``close``."""
    from ser_core.distributed import LOCAL, resolve_scheduler
    from ser_core.errors import InputError
    from ser_core.serving.predict import iter_predictions
    from ser_core.serving.speakers import predict_speakers

    if args.speaker_adapt:
        if args.scheduler not in (None, LOCAL):
            raise InputError("--speaker-adapt runs on this machine (each speaker's clips are adapted together); "
                             "drop --scheduler")
        predictions = predict_speakers(args.paths, model, speaker_of_file=args.speaker_of,
                                       prior_clips=args.prior_clips)
        for note in sorted({f"{p.speaker}: {p.warning}" for p in predictions if p.speaker and p.warning}):
            print(f"warning: {note}", file=sys.stderr)
        return predictions, lambda: None
    update, close = None, lambda: None
    if resolve_scheduler() is not None:  # a bar for cluster jobs; locally each prediction prints as it comes
        update, close = progress_bar(description="predict", unit="file")
    return iter_predictions(args.paths, model, allow_outside=args.allow_outside, progress=update), close


def run_predict(args) -> int:
    from ser_core.modelfolder.read import default_model_dir, load_model
    from ser_core.serving.exports import PredictionsCsv

    model = load_model(args.model if args.model is not None else default_model_dir(), trust=args.trust)
    predictions, close = _predictions(args, model)
    to_stdout = args.csv == "-"
    handle = None
    if args.csv and not to_stdout:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        handle = open(args.csv, "w", encoding="utf-8", newline="")
    table = PredictionsCsv(sys.stdout if to_stdout else handle, labels=model.labels) if args.csv else None
    failures = 0
    try:
        for prediction in predictions:
            failures += not prediction.ok and not prediction.is_window  # a file, not one silent window
            if table is not None:
                table.write(prediction)
            if not to_stdout:
                print(json.dumps(prediction.to_record()) if args.json else format_prediction(prediction), flush=True)
    finally:
        close()
        if handle is not None:
            handle.close()
            print(f"wrote {table.rows} rows to {args.csv}", file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


PARSERS = (add_predict_parser,)
