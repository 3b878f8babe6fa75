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


# ---------------------------------------------------------------- entry point

#: Parser builders, one per command, in the order ``--help`` lists them.
_COMMANDS = (_add_index_parser, _add_download_parser, _add_features_parser)


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
