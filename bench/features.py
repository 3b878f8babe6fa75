"""Benchmark feature extraction: clips per second, cold and warm, next to a plain librosa loop.

Usage (from the project root)::

    python bench/features.py                    # the whole ../shared/data/ravdess-16k
    python bench/features.py --limit 200        # a quick run on the first 200 clips
    python bench/features.py --kinds MFCC-16000-40 EGEMAPS-16000 --compare

"plain loop" is the study's code run one clip after another in this process:
``librosa.load`` at 16 kHz, ``effects.trim(top_db=20)``, ``util.normalize``,
``feature.mfcc`` + ``delta`` x2 + ``melspectrogram`` in dB, time means (160 values).
"cold" runs :func:`ser_core.features.extract_corpus` into an empty temporary cache,
"warm" runs it again from a fresh :class:`FeatureCache` object on that same folder (as a
new app session would). One-off start-up (the first librosa call in this process, the
worker processes' imports) is measured and printed separately, not inside the rates.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.features import extract_corpus, parse_kind  # noqa: E402
from ser_core.features.cache import FeatureCache  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
DEFAULT_KINDS = ("MFCC-16000-40", "FRAMES-16000-40-128", "LOGMEL-16000-64-256", "EGEMAPS-16000")


def study_vector(path: str, *, sample_rate: int = 16000, n_mfcc: int = 40) -> np.ndarray:
    """The study's 160-value vector written the straightforward librosa way."""
    import librosa

    y, sr = librosa.load(path, sr=sample_rate)
    y, _ = librosa.effects.trim(y, top_db=20)
    y = librosa.util.normalize(y)
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)
    delta = librosa.feature.delta(mfcc)
    delta2 = librosa.feature.delta(mfcc, order=2)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=40), ref=np.max)
    return np.concatenate([mfcc.mean(axis=1), delta.mean(axis=1), delta2.mean(axis=1), mel_db.mean(axis=1)])


def plain_loop(paths: list[str]) -> tuple[float, np.ndarray]:
    """Seconds for the sequential study loop over paths, and its result."""
    start = time.perf_counter()
    out = np.stack([study_vector(p) for p in paths])
    return time.perf_counter() - start, out


def timed_extract(
    paths: list[str], *, kind: str, cache_root: Path, n_jobs: int | None
) -> tuple[float, np.ndarray]:
    """Seconds for one extract_corpus call through a fresh FeatureCache object."""
    start = time.perf_counter()
    out = extract_corpus(paths, spec=kind, cache=FeatureCache(cache_root), n_jobs=n_jobs)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of clips (any depth)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N clips")
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS), help="feature kinds to time")
    parser.add_argument("--compare", action="store_true", help="also time COMPARE-16000 (slower)")
    parser.add_argument(
        "--single-thread-plain", action="store_true", help="also time the plain loop with BLAS on one thread"
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="worker processes (default: all cores)")
    args = parser.parse_args(argv)

    paths = sorted(str(p) for p in args.data.rglob("*.wav"))[: args.limit]
    if not paths:
        parser.error(f"no .wav files under {args.data}")
    kinds = list(args.kinds) + (["COMPARE-16000"] if args.compare else [])
    for kind in kinds:
        parse_kind(kind)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{len(paths)} clips from {args.data}, {cores} cores, n_jobs={args.n_jobs or 'all'}")

    # One-off start-up costs (imports in this process, worker processes importing
    # librosa/scipy) are timed apart so the rates below compare steady-state work.
    start = time.perf_counter()
    study_vector(paths[0])
    import_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="ser-bench-warmup-") as tmp:
        start = time.perf_counter()
        extract_corpus(paths[:8], spec=kinds[0], cache=FeatureCache(tmp), n_jobs=args.n_jobs)
        workers_s = time.perf_counter() - start
    print(f"start-up (not in the rates): librosa first call {import_s:.2f} s, worker pool {workers_s:.2f} s")

    plain_s, reference = plain_loop(paths)
    print(f"{'plain librosa loop (160-vector)':<36} {len(paths) / plain_s:8.1f} clips/s  ({plain_s:.2f} s)")
    if args.single_thread_plain:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            single_s, _ = plain_loop(paths)
        print(f"{'  same loop, BLAS on 1 thread':<36} {len(paths) / single_s:8.1f} clips/s  ({single_s:.2f} s)")
    with tempfile.TemporaryDirectory(prefix="ser-bench-") as tmp:
        for kind in kinds:
            root = Path(tmp) / kind
            cold_s, cold = timed_extract(paths, kind=kind, cache_root=root, n_jobs=args.n_jobs)
            warm_s, warm = timed_extract(paths, kind=kind, cache_root=root, n_jobs=args.n_jobs)
            if not np.array_equal(cold, warm, equal_nan=True):
                raise SystemExit(f"{kind}: warm load differs from the cold extraction")
            note = ""
            if kind == "MFCC-16000-40":
                diff = np.max(np.abs(cold - reference))
                note = f"  max |diff| vs plain loop {diff:.2e}, cold {plain_s / cold_s:.1f}x plain"
            print(
                f"{kind:<24} cold {len(paths) / cold_s:8.1f} clips/s ({cold_s:6.2f} s)"
                f"  warm {len(paths) / warm_s:9.1f} clips/s ({warm_s:6.3f} s){note}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
