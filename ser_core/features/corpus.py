"""Features of a whole corpus: in parallel processes or on a Dask cluster, through the verified disk cache.

:func:`extract_clips` loads and preprocesses each clip (:func:`ser_core.audio.preprocess.load_clip`),
optionally augments it, extracts one feature kind, and reports every clip that failed
with its reason; :func:`extract_corpus` is the same for callers that want the array only.
Given a scheduler (or ``$SER_DASK_SCHEDULER``), the clips the cache lacks are extracted
on the cluster (:mod:`ser_core.distributed`) and their features saved in this machine's cache.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np

from ser_core import storage
from ser_core.audio.preprocess import PreprocessSettings, load_clip
from ser_core.distributed import resolve_scheduler
from ser_core.errors import FeatureError, SERError
from ser_core.features.cache import FeatureCache
from ser_core.features.extract import extract
from ser_core.features.names import FeatureSpec, parse_kind


@dataclass
class CorpusFeatures:
    """Features of many clips: ``X`` (first axis = clips, all-NaN rows for failures) and why each failed."""

    X: np.ndarray
    failures: dict[int, str] = field(default_factory=dict)
    """Row index -> the reason that clip gave no features."""

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the rows that hold features."""
        mask = np.ones(len(self.X), dtype=bool)
        mask[list(self.failures)] = False
        return mask


def _clip_features(path: str, spec: FeatureSpec, settings: PreprocessSettings, augmentation) -> np.ndarray:
    y = load_clip(path, settings=settings)
    if augmentation is not None:
        y = augmentation(y, sample_rate=settings.sample_rate)
    return extract(y, spec=spec, sample_rate=settings.sample_rate)


def settings_key(settings: PreprocessSettings, augmentation=None) -> str:
    """Cache key of the preprocessing, plus the augmentation's ``cache_key`` (else its ``key``) when there is one."""
    if augmentation is None:
        return settings.key
    return f"{settings.key}-{getattr(augmentation, 'cache_key', augmentation.key)}"


def extract_batch(items, spec: FeatureSpec, settings: PreprocessSettings, cache_root: str | None, augmentation=None):
    """Worker: compute, cache and return ``(index, array or None, error or None)`` per ``(index, path, hash)``."""
    from threadpoolctl import threadpool_limits

    cache = FeatureCache(cache_root) if cache_root is not None else None
    results = []
    # Small matrices: multi-threaded BLAS only adds contention (2x slower on 2 busy cores).
    with threadpool_limits(limits=1, user_api="blas") if spec.parallel else nullcontext():
        for index, path, content_hash in items:
            try:
                array = _clip_features(path, spec, settings, augmentation)
            except Exception as exc:  # reported per clip; the caller decides to raise or skip
                results.append((index, None, exc))
                continue
            if cache is not None:
                cache.save(content_hash, array, spec_key=spec.cache_key, settings_key=settings_key(settings, augmentation))
            results.append((index, array, None))
    return results


def n_workers(n_jobs: int | None) -> int:
    """Worker processes for ``n_jobs`` (None or -1: every core this process may use)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_jobs is None or n_jobs == -1:
        return available
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise FeatureError(f"n_jobs is {n_jobs!r}; expected None (all cores), -1 or a positive integer")
    return n_jobs


def _clip_error(path: str, spec: FeatureSpec, exc: BaseException) -> SERError:
    message = f"could not extract {spec.name} from '{path}': {exc}"
    if isinstance(exc, SERError):
        try:
            return type(exc)(message)
        except TypeError:
            pass
    return FeatureError(f"{message} ({type(exc).__name__})")


def failed_rows(features: np.ndarray) -> np.ndarray:
    """Boolean mask of the clips that gave no features (rows that are all NaN)."""
    flat = np.asarray(features).reshape(len(features), -1)
    return np.isnan(flat).all(axis=1) if flat.shape[1] else np.zeros(len(features), dtype=bool)


def extract_clips(paths: Sequence[str | os.PathLike], *, spec: FeatureSpec | str,
                  settings: PreprocessSettings = PreprocessSettings(), cache: FeatureCache | None | bool = None,
                  n_jobs: int | None = None, progress: Callable[[int, int], None] | None = None,
                  on_error: str = "skip", augmentation: Callable[..., np.ndarray] | None = None,
                  scheduler=None) -> CorpusFeatures:
    """Extract one feature kind for many clips, in parallel, through the cache.

    Parameters
    ----------
    paths : sequence of paths or URLs
        Audio files; the output keeps their order (first axis = clips). URLs
        (``s3://...``, ``file://...``) are read through fsspec (:mod:`ser_core.storage`).
    spec : FeatureSpec or str
        The feature kind, e.g. ``"MFCC-16000-40"``.
    settings : PreprocessSettings
        Preprocessing; its sample_rate is replaced by ``spec.sample_rate``.
    cache : FeatureCache, None or False
        None uses ``FeatureCache()`` (``$SER_CACHE_DIR`` or ``~/.cache/ser_studio``);
        False disables caching.
    n_jobs : int or None
        Worker processes; None or -1 means every available core, 1 runs in this process.
        Wav2Vec2 always runs in this process (torch uses the cores itself). Not used on a cluster.
    progress : callable(done, total) or None
        Called with the number of clips finished so far, at least once at the end.
    on_error : {"skip", "raise"}
        "skip": a clip that fails (missing, undecodable, silent, too short) becomes an
        all-NaN row and its reason goes to ``failures``. "raise": the first failure
        raises its error class with the file's path in the message.
    augmentation : callable or None
        Applied to each preprocessed clip before extraction, e.g.
        :class:`ser_core.audio.augment.SpeedPerturbation`; its ``key`` names it in the cache.
    scheduler : str, distributed.Client or None
        A Dask scheduler (``tcp://HOST:PORT``) to extract on; None means
        ``$SER_DASK_SCHEDULER`` when set, else this machine; ``"local"`` this machine.
        The workers must reach the paths; the results are the same, in the same order.

    Returns
    -------
    CorpusFeatures

    Examples
    --------
    >>> result = extract_clips(["a.wav", "b.wav"], spec="MFCC-16000-40")  # doctest: +SKIP
    >>> result.X.shape, result.failures  # doctest: +SKIP
    ((2, 160), {})
    """
    spec = parse_kind(spec)
    if on_error not in ("raise", "skip"):
        raise FeatureError(f"on_error is {on_error!r}; expected 'raise' or 'skip'")
    workers = n_workers(n_jobs) if spec.parallel else 1
    job = _Extraction(paths, spec=spec, settings=replace(settings, sample_rate=spec.sample_rate), cache=cache,
                      augmentation=augmentation, on_error=on_error, progress=progress)
    stacked = job.whole_corpus_from_cache()
    if stacked is not None:
        return CorpusFeatures(stacked)
    return job.run(workers, scheduler=scheduler)


class _Extraction:
    """One :func:`extract_clips` call: its clips, their cache keys, and the clips that failed so far.

    Creating it finds the clips (a missing one is a failure) and hashes them for the cache;
    :meth:`whole_corpus_from_cache` answers from one cached corpus entry when it can, and
    :meth:`run` takes each clip from the cache or extracts it, here or on the cluster.
    """

    def __init__(self, paths, *, spec: FeatureSpec, settings: PreprocessSettings, cache, augmentation,
                 on_error: str, progress):
        self.paths = [os.fspath(p) for p in paths]
        if not self.paths:
            raise FeatureError("received 0 clips; expected at least one audio path")
        self.spec, self.settings, self.augmentation = spec, settings, augmentation
        self.on_error, self.progress = on_error, progress
        self.cache = FeatureCache() if cache is None else (cache or None)
        self.keys = dict(spec_key=spec.cache_key, settings_key=settings_key(settings, augmentation), shape=spec.shape)
        self.failures: dict[int, str] = {}
        self.hashes = [""] * len(self.paths)
        self._find_clips()

    def _find_clips(self) -> None:
        """Note each missing clip (the first raises with on_error="raise") and hash the others for the cache."""
        for index, path in enumerate(self.paths):
            if not storage.exists(path):
                self.failures[index] = f"no audio file at '{path}'"
            elif self.cache is not None:
                self.hashes[index] = self.cache.content_hash(path)
        if self.failures and self.on_error == "raise":
            raise FeatureError(f"{self.failures[min(self.failures)]}; expected an existing file")
        if self.cache is not None:
            self.cache.save_hashes()

    def whole_corpus_from_cache(self) -> np.ndarray | None:
        """Every clip's features from one cached corpus entry, or None when there is none (or a clip is missing)."""
        if self.cache is None or self.failures:
            return None
        stacked = self.cache.load_corpus(self.hashes, **self.keys)
        if stacked is not None:
            self._report(len(self.paths))
        return stacked

    def run(self, workers: int, *, scheduler) -> CorpusFeatures:
        """Each clip's features from the cache, or extracted by ``workers`` processes or on ``scheduler``'s cluster."""
        results, todo = self._cached_clips()
        done = len(self.paths) - len(todo)
        self._report(done)
        cache_root = str(self.cache.root) if self.cache is not None else None
        for batch in run_batches(todo, self.spec, self.settings, cache_root, workers, self.augmentation,
                                 scheduler=resolve_scheduler(scheduler)):
            self._keep(batch, results)
            done += len(batch)
            self._report(done)
        stacked = _stack(results, spec=self.spec, paths=self.paths)
        if self.cache is not None and not self.failures:
            self.cache.save_corpus(self.hashes, stacked, spec_key=self.keys["spec_key"],
                                   settings_key=self.keys["settings_key"])
        return CorpusFeatures(stacked, dict(sorted(self.failures.items())))

    def _cached_clips(self) -> tuple[list[np.ndarray | None], list[tuple[int, str, str]]]:
        """Each clip's cached features (None where the cache lacks them) and the ``(index, path, hash)`` to extract."""
        results: list[np.ndarray | None] = [None] * len(self.paths)
        todo = []
        for index, (path, content_hash) in enumerate(zip(self.paths, self.hashes)):
            if index in self.failures:
                continue
            hit = self.cache.load(content_hash, **self.keys) if self.cache is not None else None
            if hit is not None:
                results[index] = hit
            else:
                todo.append((index, path, content_hash))
        return results, todo

    def _keep(self, batch, results: list) -> None:
        """Put one batch's arrays in ``results``; a failed clip raises (on_error="raise") or joins the failures."""
        for index, array, exc in batch:
            if exc is not None:
                if self.on_error == "raise":
                    raise _clip_error(self.paths[index], self.spec, exc) from exc
                self.failures[index] = str(exc)
            results[index] = array

    def _report(self, done: int) -> None:
        _report(self.progress, done, len(self.paths))


def extract_corpus(paths, *, spec, on_error: str = "raise", **options) -> np.ndarray:
    """:func:`extract_clips` for callers that want the array only (``on_error="raise"`` by default).

    With ``on_error="skip"`` failed clips are all-NaN rows and a warning lists them.
    """
    result = extract_clips(paths, spec=spec, on_error=on_error, **options)
    if result.failures:
        listed = "; ".join(f"{paths[i]}: {why}" for i, why in list(result.failures.items())[:5])
        warnings.warn(f"skipped {len(result.failures)} of {len(paths)} clips ({listed})", stacklevel=2)
    return result.X


def _report(progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def run_batches(todo, spec, settings, cache_root, workers, augmentation=None, *, scheduler=None):
    """Yield lists of per-clip results (:func:`extract_batch`), batch by batch.

    In order on this machine; on a cluster (``scheduler``: an address or a Client) as
    the batches finish, with their features saved here in ``cache_root``.
    """
    if not todo:
        return
    if scheduler is not None:
        yield from _run_on_cluster(todo, spec, settings, cache_root, augmentation, scheduler=scheduler)
        return
    if workers == 1 or len(todo) < 2 * workers:
        size = max(1, min(16, math.ceil(len(todo) / 20)))
        for start in range(0, len(todo), size):
            yield extract_batch(todo[start : start + size], spec, settings, cache_root, augmentation)
        return
    from joblib import Parallel, delayed

    size = max(1, min(32, math.ceil(len(todo) / (workers * 6))))
    batches = [todo[start : start + size] for start in range(0, len(todo), size)]
    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator")
    yield from parallel(delayed(extract_batch)(batch, spec, settings, cache_root, augmentation) for batch in batches)


def _run_on_cluster(todo, spec, settings, cache_root, augmentation, *, scheduler):
    from ser_core import distributed

    client = distributed.connect(scheduler)
    size = distributed.items_per_task(len(todo), n_threads=distributed.n_threads(client))
    batches = [todo[start : start + size] for start in range(0, len(todo), size)]
    # Workers may not share this machine's disk: they return arrays and the cache is written here.
    cache = FeatureCache(cache_root) if cache_root is not None else None
    hashes = {index: content_hash for index, _, content_hash in todo}
    for _, results in distributed.map_batches(client, extract_batch, batches, spec=spec, settings=settings,
                                              cache_root=None, augmentation=augmentation):
        if cache is not None:
            for index, array, _ in results:
                if array is not None:
                    cache.save(hashes[index], array, spec_key=spec.cache_key,
                               settings_key=settings_key(settings, augmentation))
        yield results


def _stack(results, *, spec: FeatureSpec, paths) -> np.ndarray:
    shapes = {r.shape for r in results if r is not None}
    if not shapes and spec.shape is not None:
        shapes = {spec.shape}  # every clip failed: all-NaN rows, the reasons are in the failures
    if not shapes:
        raise FeatureError(f"every one of the {len(paths)} clips failed to give {spec.name} features")
    if len(shapes) > 1:
        raise FeatureError(f"{spec.name} gave clips of different shapes {sorted(shapes)}; expected one shape")
    shape = shapes.pop()
    out = np.full((len(results), *shape), np.nan, dtype=np.float32)
    for index, array in enumerate(results):
        if array is not None:
            out[index] = array
    return out
