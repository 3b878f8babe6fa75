"""Background training jobs: one registry per server, one thread and one folder per job.

A job runs a ``work(progress, should_stop, out_dir)`` callable in a daemon thread and
records its per-epoch progress, so a page can poll it without blocking. Nothing here
imports streamlit; the page keeps one :class:`JobRegistry` via ``st.cache_resource``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ser_core.errors import SERError, TrainingCancelled

LOGGER = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)

ProgressFn = Callable[[Mapping[str, Any]], None]
Work = Callable[[ProgressFn, Callable[[], bool], Path], Any]


@dataclass
class Job:
    """One background run: its settings, live history and outcome."""

    id: str
    name: str
    settings: dict
    out_dir: Path
    status: str = QUEUED
    history: list[dict] = field(default_factory=list)
    error: str | None = None
    result: Any = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def cancel(self) -> None:
        """Ask the run to stop at its next check."""
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._stop.is_set()

    @property
    def finished(self) -> bool:
        """Whether the job has succeeded, failed or been cancelled."""
        return self.status in FINISHED

    @property
    def elapsed_s(self) -> float:
        """Seconds since the job started (up to its end when finished)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at

    def history_copy(self) -> list[dict]:
        """A copy of the per-epoch records, safe to read while the job runs."""
        with self._lock:
            return [dict(row) for row in self.history]

    def _record(self, update: Mapping[str, Any]) -> None:
        with self._lock:
            self.history.append(dict(update))
        with open(self.out_dir / "history.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(dict(update), default=str) + "\n")

    def wait(self, *, timeout_s: float | None = None) -> bool:
        """Block until the job finishes (or ``timeout_s`` passes); return whether it finished."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.finished


def _write_log(job: Job) -> None:
    """Leave the outcome in the job's own folder (its history is already there)."""
    record = {"id": job.id, "name": job.name, "status": job.status, "error": job.error,
              "settings": job.settings, "result": str(job.result) if job.result is not None else None,
              "started_at": job.started_at, "finished_at": job.finished_at}
    try:
        (job.out_dir / "job.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    except OSError as exc:
        LOGGER.warning("could not write the log of job %s: %s", job.id, exc)


class JobRegistry:
    """Start, list and cancel background jobs; each job gets its own folder under ``root``."""

    def __init__(self, *, root: Path):
        self.root = Path(root)
        self._jobs: dict[str, Job] = {}
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, work: Work, *, name: str, settings: Mapping[str, Any] | None = None) -> Job:
        """Start ``work`` in a background thread and return its :class:`Job` at once."""
        job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        job = Job(id=job_id, name=name, settings=dict(settings or {}), out_dir=self.root / job_id)
        job.out_dir.mkdir(parents=True, exist_ok=False)
        thread = threading.Thread(target=self._run, args=(job, work), name=f"train-{job_id}", daemon=True)
        job._thread = thread
        with self._lock:
            self._jobs[job.id] = job
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        job.status, job.started_at = RUNNING, time.time()
        try:
            job.result = work(job._record, lambda: job._stop.is_set(), job.out_dir)
            job.status = SUCCEEDED
        except TrainingCancelled as exc:
            job.status, job.error = CANCELLED, str(exc) or "cancelled by the user"
        except SERError as exc:
            job.status, job.error = FAILED, str(exc)
        except Exception as exc:  # a bug or an environment problem: say what, log the trace
            LOGGER.error("job %s failed:\n%s", job.id, traceback.format_exc())
            job.status, job.error = FAILED, f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_at = time.time()
            _write_log(job)

    def jobs(self) -> list[Job]:
        """Every job of this server, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def running(self) -> list[Job]:
        """Jobs that have not finished yet."""
        return [j for j in self.jobs() if not j.finished]

    def claim_name(self, name: str, *, taken: Iterable[str] = ()) -> str:
        """A model-folder name no other job of this registry uses and not in ``taken``."""
        with self._lock:
            used = set(taken) | self._claimed
            candidate, n = name, 2
            while candidate in used:
                candidate, n = f"{name}-{n}", n + 1
            self._claimed.add(candidate)
            return candidate


def training_work(config, *, data, artifact_dir: Path) -> Work:
    """The work of one training job: train under the config's protocol, then save a model folder.

    The folder is written by ``ser_core`` atomically and only after training succeeded,
    so a failed or cancelled run never leaves a half model in ``artifact_dir``.
    """

    def work(progress: ProgressFn, should_stop: Callable[[], bool], out_dir: Path) -> Path:
        """Train, save atomically, then time the saved model; return its folder."""
        from ser_core.artifacts import load_model, update_metrics
        from ser_core.evaluate import latency_per_clip_ms
        from ser_core.train import save_result, train

        progress({"stage": "features"})
        result = train(config, data=data, progress=progress, should_stop=should_stop)
        if should_stop():
            raise TrainingCancelled("training was cancelled before the model was saved")
        progress({"stage": "saving"})
        folder = save_result(result, artifact_dir)
        model = load_model(folder, trust=True)  # a folder this very job just wrote
        update_metrics(folder, {"latency_ms_per_3s_clip": latency_per_clip_ms(model)})
        return folder

    return work
