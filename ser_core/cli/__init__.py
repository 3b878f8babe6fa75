"""Command line interface: ``python -m ser_core <command> ...``.

Each command is one ``add_<name>_parser(subparsers)`` that declares its arguments and
one ``run_<name>(args) -> int`` that runs it, grouped by job: :mod:`.data` (index,
download, features, leakage), :mod:`.models` (train, build-default, evaluate, compare, report,
reproduce) and :mod:`.classify` (predict). Every :class:`~ser_core.errors.SERError`
ends as one ``error: <message>`` line on stderr with exit code 2, never a traceback.
Commands that take ``--scheduler`` (:func:`add_scheduler_argument`) run under
:func:`ser_core.distributed.use_scheduler`.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from ser_core import __version__
from ser_core.errors import SERError

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def progress_bar(*, description: str, unit: str = "it", unit_scale: bool = False):
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


def add_scheduler_argument(parser, *, what: str) -> None:
    """``--scheduler tcp://HOST:PORT``: run ``what`` on a Dask cluster (default: ``$SER_DASK_SCHEDULER``)."""
    from ser_core.distributed import LOCAL, SCHEDULER_ENV

    parser.add_argument(
        "--scheduler", default=None, metavar="tcp://HOST:PORT",
        help=f"Dask scheduler to run {what} on; the workers must reach the same paths "
        f"(default: ${SCHEDULER_ENV} when set, else this machine; '{LOCAL}': this machine)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    from ser_core.cli import classify, data, models

    parser = argparse.ArgumentParser(
        prog="python -m ser_core", description="Speech emotion recognition studio: corpus, features and models."
    )
    parser.add_argument("--version", action="version", version=f"ser_core {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in (*data.PARSERS, *models.PARSERS, *classify.PARSERS):
        add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run one command; return its exit code (2 and ``error: ...`` on stderr for a SERError)."""
    import warnings

    from ser_core.distributed import use_scheduler

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m ser_core " + " ".join(shlex.quote(arg) for arg in argv)
    try:
        with warnings.catch_warnings(), use_scheduler(getattr(args, "scheduler", None)):
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return args.handler(args)
    except SERError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
