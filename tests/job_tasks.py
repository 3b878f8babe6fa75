"""Small tasks the job tests run in a job's own process (importable there as ``job_tasks``)."""

import os
import time
from pathlib import Path

from ser_core.errors import FeatureError, TrainingCancelled

ERRORS = {"feature": FeatureError("unknown feature kind 'X'"), "cancelled": TrainingCancelled("stopped at epoch 1"),
          "bug": ZeroDivisionError("division by zero")}


def epochs(task, *, progress, should_stop):
    """Report ``n`` epochs, write a result file, return its path."""
    for epoch in range(1, task["n"] + 1):
        progress({"epoch": epoch, "loss": 1.0 / epoch, "fold": 1, "n_folds": 1})
    out = Path(task["out"])
    out.write_text(str(os.getpid()))
    return out


def fail(task, *, progress, should_stop):
    """Report one epoch, then raise the named error."""
    progress({"epoch": 1})
    raise ERRORS[task["error"]]


def wait_for_cancel(task, *, progress, should_stop):
    """Poll should_stop until it says stop; then raise TrainingCancelled (or ignore it when stubborn)."""
    Path(task["started"]).write_text("started")
    while not should_stop():
        time.sleep(0.02)
    if task.get("stubborn"):
        time.sleep(3600)
    raise TrainingCancelled("cancelled by the user")


def sleep(task, *, progress, should_stop):
    """Sleep a while (a job that outlives its time limit unless it listens)."""
    Path(task["started"]).write_text("started")
    time.sleep(task["seconds"])
    return "slept"


def niceness(task, *, progress, should_stop):
    """Report the process's nice value."""
    progress({"nice": os.nice(0)})
    return str(os.nice(0))
