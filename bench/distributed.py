"""Benchmark the Dask engine: clips/s here vs the same machine as a 2-worker cluster, and where the time goes.

Usage (from the project root)::

    python bench/distributed.py --clips 300                       # COMPARE-16000 and MFCC-16000-40
    python bench/distributed.py --clips 1200 --kinds COMPARE-16000
    python bench/distributed.py --scheduler tcp://HOST:8786       # a running cluster instead of a LocalCluster

Per feature kind, on the same clips, features never cached:

* **local**: :func:`ser_core.features.extract_clips` with ``n_jobs=WORKERS`` (loky processes);
* **cluster**: the same call with ``scheduler=`` a LocalCluster of WORKERS processes x 1
  thread; the overhead is how much slower it is than local;
* **1 clip per task**: the cluster again, one clip per task, to show what batching saves;
* **time split**: the clips through an instrumented copy of the worker task that times
  *decode* (read, decode, resample, trim, normalise) and *features* per clip on the worker;
  *scheduling + transfer* is the rest of the worker slots' time, ``wall x threads -
  (decode + features)`` (task round trips, serialising results, and the tail when the
  last tasks leave workers idle).

Local, cluster and 1-clip-per-task runs are interleaved ``--repeats`` times and the
medians printed (other load on the machine drifts during a run and hits all three alike),
with the CPU seconds per clip of every process involved (client, scheduler, workers):
on a shared machine the wall clock follows the other jobs, the CPU cost hardly does.
Also timed: the client's share (indexing the corpus, whose validity check decodes every
clip once; hashing every clip for the cache key; saving the features that come back in
its cache) and the round trip of empty tasks.
Start-up (worker processes importing librosa/openSMILE) is done by a warm-up run on 8
clips before anything is timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The project root instead of bench/, where this file would shadow the `distributed` package.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from ser_core import distributed  # noqa: E402
from ser_core.audio.preprocess import PreprocessSettings  # noqa: E402
from ser_core.features import extract_clips, parse_kind  # noqa: E402
from ser_core.features.cache import FeatureCache, hash_file  # noqa: E402
from ser_core.features.corpus import extract_batch  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
DEFAULT_KINDS = ("COMPARE-16000", "MFCC-16000-40")


def timed_batch(items, spec, settings):
    """The worker task of extract_clips, timing decode and features per clip."""
    from threadpoolctl import threadpool_limits

    from ser_core.audio.preprocess import load_clip
    from ser_core.features import extract

    arrays, decode_s, features_s = [], 0.0, 0.0
    with threadpool_limits(limits=1, user_api="blas"):
        for _, path, _ in items:
            start = time.perf_counter()
            y = load_clip(path, settings=settings)
            middle = time.perf_counter()
            arrays.append(extract(y, spec=spec, sample_rate=settings.sample_rate))
            decode_s += middle - start
            features_s += time.perf_counter() - middle
    return {"decode_s": decode_s, "features_s": features_s, "arrays": arrays}


def _noop(x):
    return x


def index_copy(paths: list[str]) -> int:
    """Index a linked copy of the clips with a cold validity memo (what `features --data` does first)."""
    from ser_core.data.index import index_corpus

    with tempfile.TemporaryDirectory(prefix="ser-bench-index-") as tmp:
        for path in paths:
            link = Path(tmp, "corpus", Path(path).parent.name, Path(path).name)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.abspath(path))
        before = os.environ.get("SER_CACHE_DIR")
        os.environ["SER_CACHE_DIR"] = str(Path(tmp, "cache"))
        try:
            return len(index_corpus(Path(tmp, "corpus")).clips)
        finally:
            if before is None:
                os.environ.pop("SER_CACHE_DIR")
            else:
                os.environ["SER_CACHE_DIR"] = before


def tree_cpu_s() -> float:
    """User + system CPU seconds of this process and all its live descendants (pools, cluster workers)."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for process in (me, *me.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def threads_note(client) -> str:
    return f"{distributed.n_threads(client)} worker threads"


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:7.1f} clips/s ({seconds:6.2f} s)"


def bench_kind(kind: str, paths: list[str], *, client, address: str, workers: int, repeats: int) -> None:
    """Print one feature kind's block: local vs cluster vs 1 clip per task, the worker time split, the client's saving."""
    spec = parse_kind(kind)
    settings = PreprocessSettings(sample_rate=spec.sample_rate)
    threads = distributed.n_threads(client)
    size = distributed.items_per_task(len(paths), n_threads=threads)
    todo = [(index, path, "") for index, path in enumerate(paths)]
    extract_clips(paths[:8], spec=spec, cache=False, n_jobs=workers)  # warm-up: pool start-up and imports
    extract_clips(paths[:8], spec=spec, cache=False, scheduler=address)

    def local():
        return extract_clips(paths, spec=spec, cache=False, n_jobs=workers)

    def cluster():
        return extract_clips(paths, spec=spec, cache=False, scheduler=address)

    def one_clip_per_task():
        for _ in distributed.map_batches(client, extract_batch, [[item] for item in todo], spec=spec,
                                         settings=settings, cache_root=None, augmentation=None):
            pass

    wall, cpu_ms, (reference, ours, _) = interleaved_medians((local, cluster, one_clip_per_task), repeats=repeats,
                                                             n_clips=len(paths))
    diff = float(np.nanmax(np.abs(ours.X - reference.X)))
    same = ours.failures == reference.failures and np.array_equal(np.isnan(ours.X), np.isnan(reference.X))
    print(f"{kind} (median of {repeats}; wall clock, and CPU of every process per clip)")
    labels = (f"local, {workers} processes", f"cluster, {threads} worker threads", "cluster, 1 clip per task")
    notes = ("", f"  ({size} clips/task; max |diff| vs local {diff:.1e}{'' if same else ', FAILURES DIFFER'})",
             f"  ({len(paths)} tasks)")
    for label, wall_s, ms, note in zip(labels, wall, cpu_ms, notes):
        versus = "" if label.startswith("local") else (f" {100 * (wall_s / wall[0] - 1):+5.1f}% wall, "
                                                      f"{100 * (ms / cpu_ms[0] - 1):+5.1f}% CPU")
        print(f"  {label:<28}{rate(len(paths), wall_s)}  CPU {ms:6.1f} ms/clip{versus}{note}")
    arrays = time_split(client, [todo[i:i + size] for i in range(0, len(todo), size)], spec=spec, settings=settings,
                        threads=threads)
    print(f"  client: saving the results in its cache (one checksummed file per clip) "
          f"{len(arrays) / cache_save_s(arrays, spec=spec, settings=settings):,.0f} clips/s")


def interleaved_medians(runs, *, repeats: int, n_clips: int):
    """Median wall seconds and CPU ms per clip of each run, and each run's last result.

    Interleaved repeats: the machine's other load drifts during a run and hits all runs alike.
    CPU seconds of this process tree (client, scheduler, workers) barely depend on that load.
    """
    seconds = {run: [] for run in runs}
    cpu = {run: [] for run in runs}
    results = {}
    for _ in range(repeats):
        for run in runs:
            start, start_cpu = time.perf_counter(), tree_cpu_s()
            results[run] = run()
            seconds[run].append(time.perf_counter() - start)
            cpu[run].append(tree_cpu_s() - start_cpu)
    wall = [float(np.median(seconds[run])) for run in runs]
    cpu_ms = [1000 * float(np.median(cpu[run])) / n_clips for run in runs]
    return wall, cpu_ms, [results[run] for run in runs]


def time_split(client, batches, *, spec, settings, threads: int) -> list[np.ndarray]:
    """Print where the worker slots' time goes (decode, features, the rest); return the arrays computed."""
    decode_s = features_s = 0.0
    arrays = []
    start = time.perf_counter()
    for _, result in distributed.map_batches(client, timed_batch, batches, spec=spec, settings=settings):
        decode_s += result["decode_s"]
        features_s += result["features_s"]
        arrays += result["arrays"]
    wall_s = time.perf_counter() - start
    n_bytes = sum(array.nbytes for array in arrays)
    slots_s = wall_s * threads
    rest_s = max(0.0, slots_s - decode_s - features_s)
    print(f"  time split over {threads} worker slots x {wall_s:.2f} s = {slots_s:.2f} s: "
          f"decode {decode_s:.2f} s ({100 * decode_s / slots_s:.0f}%), features {features_s:.2f} s "
          f"({100 * features_s / slots_s:.0f}%), scheduling + transfer {rest_s:.2f} s ({100 * rest_s / slots_s:.0f}%); "
          f"{n_bytes / len(arrays) / 1024:.1f} KiB of features per clip back to the client")
    per_clip_ms = 1000 * (decode_s + features_s) / len(arrays)
    print(f"  per clip on one worker thread: {per_clip_ms:.1f} ms ({1000 / per_clip_ms:.1f} clips/s per thread)")
    return arrays


def cache_save_s(arrays, *, spec, settings) -> float:
    """Seconds the client takes to save ``arrays`` in a fresh feature cache, one checksummed file each."""
    with tempfile.TemporaryDirectory(prefix="ser-bench-cache-") as tmp:
        cache = FeatureCache(tmp)
        start = time.perf_counter()
        for number, array in enumerate(arrays):
            cache.save(f"{number:040x}", array, spec_key=spec.cache_key, settings_key=settings.key)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one block per feature kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of clips (any depth)")
    parser.add_argument("--clips", type=int, default=300, help="use the first N clips (default 300; 0 = all)")
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS), help="feature kinds to time")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, local and in the LocalCluster")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs per measurement (median)")
    parser.add_argument("--scheduler", default=None, help="a running scheduler to use instead of a LocalCluster")
    args = parser.parse_args(argv)

    paths = sorted(str(p) for p in args.data.rglob("*.wav"))
    paths = paths[: args.clips] if args.clips else paths
    if not paths:
        parser.error(f"no .wav files under {args.data}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{len(paths)} clips from {args.data}; {cores} cores; load average {load} at the start")

    start = time.perf_counter()
    n_bytes = sum(os.path.getsize(path) for path in paths)
    for path in paths:
        hash_file(path)
    hash_s = time.perf_counter() - start
    print(f"client: content hashes (cache keys) {len(paths) / hash_s:,.0f} clips/s, "
          f"{n_bytes / hash_s / 2**20:,.0f} MB/s ({n_bytes / len(paths) / 1024:.0f} KiB per clip)")

    index_copy(paths[:4])  # warm-up: the decoders' imports
    start = time.perf_counter()
    n_indexed = index_copy(paths)
    index_s = time.perf_counter() - start
    print(f"client: index_corpus, cold (its validity check decodes every clip once) "
          f"{n_indexed / index_s:,.0f} clips/s")

    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)  # not the nanny's shutdown notes

    cluster = None
    if args.scheduler is None:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    address = args.scheduler or cluster.scheduler_address
    try:
        with Client(address, set_as_default=False) as client:
            start = time.perf_counter()
            client.gather(client.map(_noop, range(200), pure=False))
            empty_s = time.perf_counter() - start
            print(f"scheduler: 200 empty tasks in {empty_s:.2f} s ({5 * empty_s:.1f} ms per task end to end, "
                  f"{threads_note(client)})")
            for kind in args.kinds:
                bench_kind(kind, paths, client=client, address=address, workers=args.workers, repeats=args.repeats)
    finally:
        distributed.disconnect()
        if cluster is not None:
            cluster.close()
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
