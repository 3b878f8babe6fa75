"""The cluster engine: ser_core's batch jobs on a Dask cluster.

Corpus feature extraction (:func:`ser_core.features.extract_clips`, augmented copies
included) and batch prediction (:func:`ser_core.serving.predict.iter_predictions`) run on a Dask
cluster when they are given a scheduler: their ``scheduler=`` keyword, the CLI's
``--scheduler tcp://HOST:PORT``, or ``$SER_DASK_SCHEDULER`` (which the dashboard and
library callers inherit). Without one they run on this machine exactly as before.

The work is cut into batches, many clips or files per task, so that the scheduler's
cost per task (about a millisecond, plus a network round trip) stays small next to the
work. :func:`map_batches` submits them with ``client.map`` and yields results as they
finish; callers put them back in input order, so results and their order do not depend
on how many workers there are or which finishes first. A task whose worker dies is run
again on another worker by the scheduler; a task that raises is retried
``TASK_RETRIES`` times. Features travel back to the client, which writes them to its own
cache (workers need not share its disk); the clips themselves must be at paths or URLs
every worker can open (:mod:`ser_core.storage`). A model is shipped to the workers as
the bytes of its folder and loaded once per worker process (:class:`ser_core.serving.worker_models.ShippedModel`).

Dask is imported inside the functions: importing this module costs nothing, and the hosted
install (requirements.txt) runs without Dask; requirements-train.txt installs it.

Examples
--------
>>> resolve_scheduler("tcp://10.0.0.5:8786")
'tcp://10.0.0.5:8786'
>>> resolve_scheduler("local") is None  # this machine, whatever $SER_DASK_SCHEDULER says
True
>>> with use_scheduler("tcp://10.0.0.5:8786"):
...     resolve_scheduler()
'tcp://10.0.0.5:8786'
"""

from __future__ import annotations

import contextvars
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from ser_core.errors import ClusterError

#: Environment variable naming the scheduler (``tcp://HOST:PORT``) of the library's default engine.
SCHEDULER_ENV = "SER_DASK_SCHEDULER"
#: A scheduler value meaning "this machine", to override ``$SER_DASK_SCHEDULER``.
LOCAL = "local"
#: Seconds to wait for the scheduler to answer, and for it to have at least one worker.
CONNECT_TIMEOUT_S = 10.0
WORKERS_TIMEOUT_S = 60.0
#: Retries of a task that raised (a worker that died does not use them up: the scheduler reruns its tasks).
TASK_RETRIES = 2
#: Tasks per worker thread a job is cut into (enough to balance uneven clips), and the most items per task.
TASKS_PER_THREAD = 8
MAX_ITEMS_PER_TASK = 64

_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("ser_dask_scheduler", default=None)
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def resolve_scheduler(scheduler=None):
    """The scheduler to use: ``scheduler`` if given, else :func:`use_scheduler`'s, else ``$SER_DASK_SCHEDULER``.

    Returns an address string, a ``distributed.Client`` passed in as ``scheduler``, or
    None for this machine (nothing set, or ``"local"``).
    """
    for candidate in (scheduler, _override.get(), os.environ.get(SCHEDULER_ENV)):
        if candidate is None or (isinstance(candidate, str) and not candidate.strip()):
            continue
        if isinstance(candidate, str):
            candidate = candidate.strip()
            return None if candidate == LOCAL else candidate
        return candidate
    return None


@contextmanager
def use_scheduler(scheduler: str | None):
    """Run the ``with`` block's feature extraction and prediction on ``scheduler`` (None: leave as is).

    The CLI wraps ``train`` and ``reproduce`` in this, so that only their feature
    extraction goes to the cluster without a keyword through every layer between.
    """
    token = _override.set(scheduler) if scheduler is not None else None
    try:
        yield
    finally:
        if token is not None:
            _override.reset(token)


def describe(scheduler) -> str:
    """The scheduler's address for messages."""
    return scheduler if isinstance(scheduler, str) else getattr(getattr(scheduler, "scheduler", None), "address",
                                                               repr(scheduler))


def connect(scheduler, *, timeout_s: float | None = None, workers_timeout_s: float | None = None):
    """A ``distributed.Client`` of the scheduler at an address (one per address and process, reused).

    Raises
    ------
    ClusterError
        Dask is not installed, the address is malformed, the scheduler does not answer
        within ``timeout_s`` (default ``CONNECT_TIMEOUT_S``), or it has no worker after
        ``workers_timeout_s`` (default ``WORKERS_TIMEOUT_S``); one line naming the address.
    """
    if not isinstance(scheduler, str):
        return scheduler  # a Client the caller made
    timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
    workers_timeout_s = WORKERS_TIMEOUT_S if workers_timeout_s is None else workers_timeout_s
    try:
        from distributed import Client
        from distributed.comm import get_address_host_port
    except ImportError:
        from ser_core.models.registry import TRAINING_REQUIREMENTS

        raise ClusterError(f"running on the Dask scheduler {scheduler} needs dask[distributed], which is not "
                           f"installed; pip install -r {TRAINING_REQUIREMENTS} adds it") from None
    try:
        get_address_host_port(scheduler)
    except ValueError as error:
        raise ClusterError(f"cannot use {scheduler!r} as a Dask scheduler address ({error}); "
                           "expected tcp://HOST:PORT") from None
    with _clients_lock:
        client = _clients.get(scheduler)
        if client is not None and client.status == "running":
            return client
        try:
            client = Client(scheduler, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError):
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} within {timeout_s:g} s; "
                               "expected a running 'dask scheduler' there") from None
        try:
            client.wait_for_workers(1, timeout=workers_timeout_s)
        except (OSError, TimeoutError):
            client.close()
            raise ClusterError(f"the Dask scheduler at {scheduler} has no workers after {workers_timeout_s:g} s; "
                               f"start some with 'dask worker {scheduler}'") from None
        _clients[scheduler] = client
        return client


def disconnect() -> None:
    """Close every client :func:`connect` opened in this process."""
    with _clients_lock:
        while _clients:
            _, client = _clients.popitem()
            client.close()


def n_threads(client) -> int:
    """Worker threads of the cluster right now (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def items_per_task(n_items: int, *, n_threads: int) -> int:
    """Items per task: about ``TASKS_PER_THREAD`` tasks per worker thread, at most ``MAX_ITEMS_PER_TASK``."""
    return max(1, min(MAX_ITEMS_PER_TASK, math.ceil(n_items / (TASKS_PER_THREAD * n_threads))))


def map_batches(client, function: Callable, batches: list, **shared) -> Iterator[tuple[int, object]]:
    """Run ``function(batch, **shared)`` for every batch; yield ``(batch number, result)`` as each finishes.

    Stopping the iteration early (an error, Ctrl-C) cancels the tasks still pending.

    Raises
    ------
    ClusterError
        A task kept killing its workers, or the connection to the scheduler was lost.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    futures = client.map(function, batches, retries=TASK_RETRIES, pure=False, **shared)
    numbers = {future.key: number for number, future in enumerate(futures)}
    try:
        for future in as_completed(futures, loop=client.loop):
            try:
                result = future.result()
            except KilledWorker as error:
                raise ClusterError(f"the Dask cluster at {describe(client)} gave up on a task: {error}") from None
            except OSError as error:
                raise ClusterError(f"lost the Dask scheduler at {describe(client)} mid-job: {error}") from None
            yield numbers[future.key], result
    finally:
        pending = [future for future in futures if not future.done()]
        if pending and client.status == "running":
            client.cancel(pending)


def in_input_order(finished: Iterable[tuple[int, object]]) -> Iterator[object]:
    """Results of :func:`map_batches` in batch order, each as soon as those before it are in."""
    waiting, following = {}, 0
    for number, result in finished:
        waiting[number] = result
        while following in waiting:
            yield waiting.pop(following)
            following += 1
