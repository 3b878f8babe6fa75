"""CLI commands about data: ``index``, ``download`` and ``features``."""

from __future__ import annotations

import json
from pathlib import Path

from ser_core.cli import EXIT_OK, add_scheduler_argument, progress_bar


def add_index_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "index", help="list and label the clips of a corpus folder or zip",
        description="Index a corpus (RAVDESS, CREMA-D, TESS, SAVEE or EmoDB; folder or zip) "
        "and print a summary per emotion plus every skipped file with its reason.",
    )
    parser.add_argument("path", help="corpus folder (any depth) or .zip")
    parser.add_argument("--corpus", default="auto", help="auto (default), ravdess, crema-d, tess, savee or emodb")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(handler=run_index)


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


def run_index(args) -> int:
    from ser_core.corpus import index_corpus, summarize

    summary = summarize(index_corpus(args.path, corpus=args.corpus))
    print(json.dumps(summary) if args.json else _format_summary(summary))
    return EXIT_OK


def add_download_parser(subparsers) -> None:
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
    parser.set_defaults(handler=run_download)


def run_download(args) -> int:
    from ser_core.download import download_ravdess

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
        "labels, actors and paths in an .npz file. A clip that gives no features is left out "
        "and reported with its reason.",
    )
    parser.add_argument("--data", required=True, help="corpus folder or .zip")
    parser.add_argument("--kind", required=True, help="feature kind, e.g. MFCC-16000-40")
    parser.add_argument("--out", type=Path, default=None, help="output .npz (default: <kind>.npz)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel workers on this machine (default: all cores)")
    parser.add_argument("--corpus", default="auto", help="corpus naming (default: auto)")
    add_scheduler_argument(parser, what="the extraction (features come back to this machine's cache)")
    parser.set_defaults(handler=run_features)


def run_features(args) -> int:
    import sys

    import numpy as np

    from ser_core.corpus import index_corpus
    from ser_core.features import extract_clips, parse_kind

    spec = parse_kind(args.kind)
    clips = index_corpus(args.data, corpus=args.corpus).clips
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
    np.savez(out, features=result.X[keep], labels=clips["emotion"].to_numpy(dtype=str)[keep],
             actors=clips["actor"].to_numpy(dtype=str)[keep], paths=clips["path"].to_numpy(dtype=str)[keep],
             kind=np.array(spec.name))
    print(f"{int(keep.sum())} clips x {tuple(result.X.shape[1:])} {spec.name} features -> {out}"
          + (f" ({len(result.failures)} skipped)" if result.failures else ""))
    return EXIT_OK


PARSERS = (add_index_parser, add_download_parser, add_features_parser)
