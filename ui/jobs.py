"""Background trainings: a bounded queue, one niced process per job, owners, limits, and memory of past runs.

A :class:`JobRegistry` (one per server, kept by ``st.cache_resource``) accepts jobs into a
queue and starts them when fewer than ``max_running`` run. Each job runs in its own
process at a lower CPU priority (``nice``), so a training never starves the pages other
visitors are using; its per-epoch progress comes back through a pipe and is kept in the
job and in ``<runs>/<job id>/history.jsonl``. A job belongs to one visitor (its owner),
who alone sees and cancels it; a wall-clock limit stops runaway jobs. Every job's state
is written to ``<runs>/<job id>/job.json``, so after a restart the finished jobs are still
listed and the ones that were cut short say so. A :class:`WorkQueue` bounds the heavy work
done in the server process itself (a long recording's analysis on Predict) the same way.
Nothing here imports streamlit.
"""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import os
import sys
import threading
import time
import types
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ser_core.errors import InputError

LOGGER = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
#: CPU priority of training processes (higher is nicer to the pages).
JOB_NICENESS = 10
#: Seconds a cancelled job may take to stop by itself before its process is terminated.
CANCEL_GRACE_S = 20.0


@dataclass
class Job:
    """One background run: its settings, owner, live history and outcome."""

    id: str
    name: str
    owner: str
    settings: dict
    out_dir: Path
    task: dict = field(default_factory=dict, repr=False)
    status: str = QUEUED
    history: list[dict] = field(default_factory=list)
    error: str | None = None
    result: Any = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    timeout_s: float = 0.0
    _stop: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Ask the run to stop (a queued run never starts)."""
        with self._lock:
            if self.status == QUEUED:
                self._finish(CANCELLED, "cancelled before it started")
                return
            self.error = self.error or "cancelled by its owner"
        if self._stop is not None:
            self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        """Whether :meth:`cancel` was called on a running job."""
        return self._stop is not None and self._stop.is_set()

    @property
    def finished(self) -> bool:
        """Whether the job has ended one way or another."""
        return self.status in FINISHED

    @property
    def elapsed_s(self) -> float:
        """Seconds since the job started (up to its end when finished)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    def history_copy(self) -> list[dict]:
        """A copy of the progress records, safe to read while the job runs."""
        with self._lock:
            return [dict(row) for row in self.history]

    def _record(self, update: Mapping[str, Any]) -> None:
        update = {**update, "elapsed_s": round(self.elapsed_s, 2)}  # when it came: the time-left estimate's pace
        with self._lock:
            self.history.append(dict(update))
        try:
            with open(self.out_dir / "history.jsonl", "a", encoding="utf-8") as log:
                log.write(json.dumps(dict(update), default=str) + "\n")
        except OSError:
            pass

    def _finish(self, status: str, error: str | None = None, result=None) -> None:
        self.status, self.finished_at = status, time.time()
        self.error = error if error is not None else (self.error if status == CANCELLED else None)
        self.result = result
        self.save_state()
        self._done.set()

    def save_state(self) -> None:
        """Write the job's state to ``job.json`` (what survives a restart)."""
        state = {"id": self.id, "name": self.name, "owner": self.owner, "status": self.status, "error": self.error,
                 "settings": self.settings, "result": str(self.result) if self.result is not None else None,
                 "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at}
        try:
            from ser_core.atomic import write_json

            write_json(self.out_dir / "job.json", state, default=str)
        except OSError as exc:
            LOGGER.warning("could not write the state of job %s: %s", self.id, exc)

    def wait(self, *, timeout_s: float | None = None) -> bool:
        """Block until the job finishes (or ``timeout_s`` passes); return whether it finished."""
        self._done.wait(timeout_s)
        return self.finished


_MAIN_SWAP = threading.Lock()


@contextmanager
def _without_the_page_script():
    """Start a spawned process without it running the page script again.

    Streamlit runs each page script as the module ``__main__``, and a spawned child imports
    ``__main__`` again before its task: it would draw the whole page once more, outside
    any browser session. While the child is started, ``__main__`` is an empty stand-in.
    """
    main = sys.modules.get("__main__")
    if getattr(main, "__spec__", None) is not None or not getattr(main, "__file__", None):
        yield  # a module run with -m (pytest, python -m ...), or no file: spawn imports no script
        return
    stand_in = types.ModuleType("__main__")
    with _MAIN_SWAP:
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if sys.modules.get("__main__") is stand_in:  # a page run started meanwhile keeps its own
                sys.modules["__main__"] = main


def _run_task(task: dict, connection, stop_event) -> None:
    """Child process: lower the priority, run the training task, report progress and the outcome."""
    from ser_core.errors import SERError, TrainingCancelled

    try:
        os.nice(JOB_NICENESS)
    except OSError:
        pass

    def progress(record):
        connection.send(("progress", dict(record)))

    try:
        module, name = task["function"].split(":")
        function = getattr(importlib.import_module(module), name)
        result = function(task, progress=progress, should_stop=stop_event.is_set)
        connection.send(("done", str(result)))
    except TrainingCancelled as exc:
        connection.send(("cancelled", str(exc) or "cancelled"))
    except SERError as exc:
        connection.send(("failed", str(exc)))
    except Exception as exc:  # a bug or an environment problem: say what; the trace goes to the log
        import traceback

        connection.send(("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        connection.close()


def train_and_save(task: dict, *, progress, should_stop):
    """Train under the config's protocol, then save the model folder (atomically, only on success)."""
    from ser_core.errors import TrainingCancelled
    from ser_core.training.config import TrainConfig
    from ser_core.training.train import save_result, train

    progress({"stage": "features"})
    result = train(TrainConfig.from_dict(task["config"]), data=task["data"], progress=progress, should_stop=should_stop)
    if should_stop():
        raise TrainingCancelled("training was cancelled before the model was saved")
    progress({"stage": "saving"})
    return save_result(result, Path(task["artifact_dir"]), description=task.get("description", ""))


def training_task(config, *, data, artifact_dir: Path, description: str = "") -> dict:
    """The task of one training job: ``config`` (a TrainConfig) on ``data``, saved to ``artifact_dir``.

    A task is plain data (it crosses into the job's process): ``function`` names the
    ``module:function`` that runs it as ``function(task, progress=..., should_stop=...)``.
    """
    return {"function": "ui.jobs:train_and_save", "config": config.to_dict(), "data": str(data),
            "artifact_dir": str(artifact_dir), "description": description}


class JobRegistry:
    """Queue, start, list and cancel jobs; each job gets its own folder under ``root``.

    Parameters
    ----------
    root : Path
        The runs folder (job states and histories).
    max_running : int
        Jobs running at once, server-wide; the others wait in order.
    max_per_owner : int
        Jobs one owner may have queued or running at once.
    """

    def __init__(self, *, root: Path, max_running: int = 1, max_per_owner: int = 10):
        self.root = Path(root)
        self.max_running = max(1, int(max_running))
        self.max_per_owner = max(1, int(max_per_owner))
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._restore()

    # ------------------------------------------------------------ memory of past runs

    def _restore(self) -> None:
        """List the jobs of earlier server runs; those that never finished are marked interrupted."""
        if not self.root.is_dir():
            return
        for state_file in sorted(self.root.glob("*/job.json")):
            try:
                state = json.loads(state_file.read_text())
                job = Job(id=state["id"], name=state["name"], owner=state.get("owner", "local"),
                          settings=state.get("settings", {}), out_dir=state_file.parent,
                          created_at=state.get("created_at") or 0.0)
            except (OSError, ValueError, KeyError):
                continue
            job.started_at, job.finished_at = state.get("started_at"), state.get("finished_at")
            job.status, job.error, job.result = state.get("status", FAILED), state.get("error"), state.get("result")
            if job.status not in FINISHED:
                job.status, job.error = INTERRUPTED, "the server restarted before this run finished; start it again"
                job.finished_at = job.finished_at or time.time()
                job.save_state()
            job._done.set()
            self._jobs[job.id] = job

    # ------------------------------------------------------------ submitting

    def submit(self, task: dict, *, name: str, owner: str = "local", settings: Mapping[str, Any] | None = None,
               timeout_s: float = 0.0) -> Job:
        """Queue a task for ``owner``; it starts when a slot is free.

        A job's ``name`` is reserved for its owner while the job is queued or running, and
        for nobody else: two of one owner's runs never save to the same name at once,
        while other owners (whose models go to their own folders) neither clash with it
        nor learn it. A refused, finished or cancelled job reserves nothing.

        Raises
        ------
        InputError
            The owner's quota is full, or one of the owner's unfinished runs has this name.
        """
        with self._lock:
            waiting = [job for job in self._jobs.values() if job.owner == owner and not job.finished]
            if len(waiting) >= self.max_per_owner:
                raise InputError(f"you already have {len(waiting)} training(s) queued or running; at most "
                                 f"{self.max_per_owner} at a time on this server. Wait for it or cancel it first.")
            if any(job.name == name for job in waiting):
                raise InputError(f"another of your runs is already saving to {name!r}; choose another name "
                                 "or wait for that run to finish")
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
            job = Job(id=job_id, name=name, owner=owner, settings=dict(settings or {}), out_dir=self.root / job_id,
                      task=dict(task), timeout_s=float(timeout_s or 0), _stop=self._context.Event())
            job.out_dir.mkdir(parents=True, exist_ok=False)
            job.save_state()
            self._jobs[job.id] = job
        self._start_ready()
        return job

    def _start_ready(self) -> None:
        """Start queued jobs, oldest first, while slots are free."""
        with self._lock:
            running = sum(1 for job in self._jobs.values() if job.status == RUNNING)
            queued = sorted((job for job in self._jobs.values() if job.status == QUEUED), key=lambda j: j.created_at)
            starting = queued[: max(0, self.max_running - running)]
            for job in starting:
                job.status, job.started_at = RUNNING, time.time()
        for job in starting:
            job.save_state()
            threading.Thread(target=self._supervise, args=(job,), name=f"job-{job.id}", daemon=True).start()

    def _supervise(self, job: Job) -> None:
        """Run one job's process, relay its progress, enforce its time limit, record the outcome."""
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_run_task, args=(job.task, sender, job._stop), daemon=True)
        outcome = (FAILED, "the training process ended without a result")
        try:
            with _without_the_page_script():
                process.start()
            sender.close()
            outcome = self._relay(job, receiver, process)
        except Exception as exc:  # could not start a process at all
            LOGGER.error("job %s could not run: %s", job.id, exc)
            outcome = (FAILED, f"could not start the training process: {exc}")
        finally:
            process.join(timeout=CANCEL_GRACE_S)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            status, detail = outcome
            if status == SUCCEEDED:
                job._finish(SUCCEEDED, result=detail)
            else:
                if status == FAILED and detail and "\n" in detail:
                    LOGGER.error("job %s failed:\n%s", job.id, detail)
                    detail = detail.split("\n", 1)[0]
                job._finish(status, detail)
            self._start_ready()

    def _relay(self, job: Job, receiver, process) -> tuple[str, str]:
        cancel_deadline = None
        while True:
            if job.timeout_s and job.elapsed_s > job.timeout_s and not job._stop.is_set():
                job.error = f"stopped at the time limit of {job.timeout_s / 60:.0f} minutes per training on this server"
                job._stop.set()
            if job._stop.is_set() and cancel_deadline is None:
                cancel_deadline = time.time() + CANCEL_GRACE_S
            if cancel_deadline is not None and time.time() > cancel_deadline:
                process.terminate()
                return CANCELLED, job.error or "cancelled"
            if receiver.poll(0.2):
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    return (CANCELLED, job.error) if job._stop.is_set() else (FAILED, "the training process stopped unexpectedly")
                if kind == "progress":
                    job._record(payload)
                elif kind == "done":
                    return SUCCEEDED, payload
                elif kind == "cancelled":
                    return CANCELLED, job.error or payload
                else:
                    return FAILED, payload
            elif not process.is_alive() and not receiver.poll(0):
                return (CANCELLED, job.error) if job._stop.is_set() else (
                    FAILED, f"the training process stopped unexpectedly (exit code {process.exitcode})")

    # ------------------------------------------------------------ reading

    def jobs(self, *, owner: str | None = None) -> list[Job]:
        """Jobs (of one owner, when given), newest first."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if owner is None or job.owner == owner]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def get(self, job_id: str, *, owner: str | None = None) -> Job | None:
        """The job with this id (None when absent or owned by someone else)."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and (owner is None or job.owner == owner) else None

    def running(self, *, owner: str | None = None) -> list[Job]:
        """Jobs that have not finished yet."""
        return [job for job in self.jobs(owner=owner) if not job.finished]

    def queue_position(self, job: Job) -> int:
        """0 when running or finished; else 1 for the next job to start, 2 for the one after, ..."""
        if job.status != QUEUED:
            return 0
        with self._lock:
            queued = sorted((j for j in self._jobs.values() if j.status == QUEUED), key=lambda j: j.created_at)
        return next((i for i, j in enumerate(queued, start=1) if j.id == job.id), 0)


class WorkQueue:
    """Heavy work done in the server process (a long recording's analysis), a few at a time, in order.

    At most ``max_running`` tasks hold a slot at once; up to ``max_waiting`` more wait for one,
    first come first served; beyond that a visitor is told the server is busy. Like the
    training queue it bounds what the server does at once, so memory stays bounded whatever
    the number of visitors.

    Examples
    --------
    >>> queue = WorkQueue(max_running=1, max_waiting=4)
    >>> with queue.slot():
    ...     pass  # the heavy work
    """

    def __init__(self, *, max_running: int = 1, max_waiting: int = 4):
        self.max_running = max(1, int(max_running))
        self.max_waiting = max(0, int(max_waiting))
        self._condition = threading.Condition()
        self._running = 0
        self._waiting: list[object] = []

    @property
    def running(self) -> int:
        """Tasks holding a slot now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Tasks waiting for a slot now."""
        return len(self._waiting)

    @contextmanager
    def slot(self, *, on_wait=None, timeout_s: float | None = None):
        """Hold one slot for the ``with`` block, waiting in line for it.

        ``on_wait(ahead)`` is called while waiting (about once a second) with the number of
        tasks ahead. InputError when the line is full, or after ``timeout_s`` in it.
        """
        ticket = object()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._condition:
            if self._running >= self.max_running or self._waiting:
                if len(self._waiting) >= self.max_waiting:
                    raise InputError(f"the server is busy with {self._running + len(self._waiting)} long recordings "
                                     "from other visitors; try again in a minute")
                self._waiting.append(ticket)
                try:
                    while self._waiting[0] is not ticket or self._running >= self.max_running:
                        if on_wait is not None:
                            on_wait(self._running + self._waiting.index(ticket))
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            raise InputError("the server is still busy with other visitors' long recordings; "
                                             "try again in a minute")
                        self._condition.wait(timeout=1.0 if remaining is None else min(1.0, remaining))
                finally:
                    self._waiting.remove(ticket)
                    self._condition.notify_all()
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()
