"""ui.jobs: a bounded queue of niced training processes with owners, limits and memory across restarts."""

import json
import time

import pytest

from conftest import requires_keras
from ser_core.errors import InputError
from ui import jobs


def _task(function, **fields):
    return {"function": f"job_tasks:{function}", **fields}


@pytest.fixture
def registry(tmp_path):
    return jobs.JobRegistry(root=tmp_path / "runs", max_running=1, max_per_owner=3)


def _wait_file(path, timeout_s=30):
    deadline = time.time() + timeout_s
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)
    return path.exists()


def test_success_records_history_result_and_state(registry, tmp_path):
    job = registry.submit(_task("epochs", n=3, out=str(tmp_path / "result.txt")), name="ok", owner="a",
                          settings={"epochs": 3})
    assert job.wait(timeout_s=60) and job.status == jobs.SUCCEEDED and job.error is None
    assert [h["epoch"] for h in job.history_copy()] == [1, 2, 3]
    assert job.result == str(tmp_path / "result.txt")
    lines = (job.out_dir / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert json.loads((job.out_dir / "job.json").read_text())["status"] == "succeeded"
    assert registry.running() == []


def test_the_job_runs_in_its_own_lower_priority_process(registry, tmp_path):
    import os

    job = registry.submit(_task("niceness"), name="nice", owner="a")
    assert job.wait(timeout_s=60) and job.status == jobs.SUCCEEDED
    assert int(job.result) >= os.nice(0) + jobs.JOB_NICENESS - 1


@pytest.mark.parametrize(("error", "status", "message"), [
    ("feature", jobs.FAILED, "unknown feature kind 'X'"),
    ("cancelled", jobs.CANCELLED, "stopped at epoch 1"),
    ("bug", jobs.FAILED, "ZeroDivisionError: division by zero"),
])
def test_failures_say_why(registry, error, status, message):
    job = registry.submit(_task("fail", error=error), name="bad", owner="a")
    assert job.wait(timeout_s=60)
    assert (job.status, job.error) == (status, message)
    assert json.loads((job.out_dir / "job.json").read_text())["error"] == message


@pytest.mark.parametrize("stubborn", [False, True])
def test_cancel_stops_the_run(registry, tmp_path, monkeypatch, stubborn):
    monkeypatch.setattr(jobs, "CANCEL_GRACE_S", 1.0)
    started = tmp_path / "started"
    job = registry.submit(_task("wait_for_cancel", started=str(started), stubborn=stubborn), name="long", owner="a")
    assert _wait_file(started) and not job.finished
    job.cancel()
    assert job.wait(timeout_s=30) and job.status == jobs.CANCELLED


def test_one_runs_at_a_time_the_others_wait_in_order(registry, tmp_path):
    first_started = tmp_path / "first"
    first = registry.submit(_task("sleep", started=str(first_started), seconds=1.0), name="first", owner="a")
    second = registry.submit(_task("epochs", n=1, out=str(tmp_path / "r2")), name="second", owner="b")
    assert _wait_file(first_started)
    assert second.status == jobs.QUEUED and registry.queue_position(second) == 1
    assert first.wait(timeout_s=60) and second.wait(timeout_s=60)
    assert second.started_at >= first.finished_at - 0.5 and second.status == jobs.SUCCEEDED


def test_a_queued_job_can_be_cancelled_before_it_starts(registry, tmp_path):
    blocker = registry.submit(_task("sleep", started=str(tmp_path / "s"), seconds=1.0), name="blocker", owner="a")
    queued = registry.submit(_task("epochs", n=1, out=str(tmp_path / "never")), name="queued", owner="a")
    queued.cancel()
    assert queued.status == jobs.CANCELLED and blocker.wait(timeout_s=60)
    time.sleep(0.5)
    assert not (tmp_path / "never").exists()


def test_each_owner_has_a_quota_and_sees_only_their_jobs(tmp_path):
    registry = jobs.JobRegistry(root=tmp_path / "runs", max_running=1, max_per_owner=1)
    mine = registry.submit(_task("sleep", started=str(tmp_path / "s"), seconds=1.0), name="mine", owner="me")
    with pytest.raises(InputError, match="at most 1"):
        registry.submit(_task("epochs", n=1, out=str(tmp_path / "x")), name="more", owner="me")
    theirs = registry.submit(_task("epochs", n=1, out=str(tmp_path / "y")), name="theirs", owner="you")
    assert [j.id for j in registry.jobs(owner="me")] == [mine.id]
    assert registry.get(theirs.id, owner="me") is None and registry.get(theirs.id, owner="you") is theirs
    assert mine.wait(timeout_s=60) and theirs.wait(timeout_s=60)


def test_a_run_past_its_time_limit_is_stopped(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "CANCEL_GRACE_S", 1.0)
    job = registry.submit(_task("sleep", started=str(tmp_path / "s"), seconds=120), name="slow", owner="a", timeout_s=1)
    assert job.wait(timeout_s=60) and job.status == jobs.CANCELLED
    assert "time limit" in job.error


def test_after_a_restart_past_runs_are_listed_and_cut_runs_say_so(tmp_path):
    registry = jobs.JobRegistry(root=tmp_path / "runs")
    done = registry.submit(_task("epochs", n=1, out=str(tmp_path / "r")), name="done", owner="a")
    assert done.wait(timeout_s=60)
    cut = jobs.Job(id="cut", name="cut", owner="a", settings={}, out_dir=tmp_path / "runs" / "cut", status=jobs.RUNNING)
    cut.out_dir.mkdir()
    cut.save_state()
    restarted = jobs.JobRegistry(root=tmp_path / "runs")
    states = {job.name: job for job in restarted.jobs(owner="a")}
    assert states["done"].status == jobs.SUCCEEDED
    assert states["cut"].status == jobs.INTERRUPTED and "restarted" in states["cut"].error


def test_a_name_is_reserved_for_its_owner_only_while_the_job_exists(tmp_path):
    registry = jobs.JobRegistry(root=tmp_path / "runs", max_running=1, max_per_owner=2)
    started = tmp_path / "started"
    job = registry.submit(_task("wait_for_cancel", started=str(started)), name="cnn-kfold", owner="a")
    with pytest.raises(InputError, match="your runs is already saving to 'cnn-kfold'"):
        registry.submit(_task("epochs", n=1, out=str(tmp_path / "x")), name="cnn-kfold", owner="a")
    # another visitor's models go to their own folder: the same name neither clashes nor tells them anything
    theirs = registry.submit(_task("epochs", n=1, out=str(tmp_path / "y")), name="cnn-kfold", owner="b")
    # a run the quota refuses reserves nothing
    registry.submit(_task("epochs", n=1, out=str(tmp_path / "z")), name="svm", owner="a")
    with pytest.raises(InputError, match="at most 2"):
        registry.submit(_task("epochs", n=1, out=str(tmp_path / "w")), name="refused", owner="a")
    assert _wait_file(started)
    job.cancel()
    assert job.wait(timeout_s=60) and job.status == jobs.CANCELLED
    again = registry.submit(_task("epochs", n=1, out=str(tmp_path / "v")), name="cnn-kfold", owner="a")
    refused_name = registry.submit(_task("epochs", n=1, out=str(tmp_path / "u")), name="refused", owner="b")
    for other in (theirs, again, refused_name):
        assert other.wait(timeout_s=60) and other.status == jobs.SUCCEEDED, other.error


@pytest.mark.slow
@requires_keras
def test_a_training_task_saves_a_complete_loadable_model(registry, app_corpus, tmp_path):
    from ser_core.modelfolder.read import load_model
    from ser_core.training.config import FitSettings, ProtocolSettings, TrainConfig

    config = TrainConfig(model="cnn", protocol=ProtocolSettings("kfold", n_folds=3), fit=FitSettings(epochs=2))
    task = jobs.training_task(config, data=app_corpus, artifact_dir=tmp_path / "artifacts" / "cnn")
    job = registry.submit(task, name="cnn", owner="a", settings=config.to_dict())
    assert job.wait(timeout_s=600) and job.status == jobs.SUCCEEDED, job.error
    model = load_model(job.result, trust=True)
    assert model.metrics.latency_ms_per_3s_clip > 0
    assert model.metrics.protocols["kfold"].summary["accuracy"]["n"] == 3
    stages = [h.get("stage") for h in job.history_copy() if "stage" in h and h["stage"] != "fold done"]
    assert stages == ["features", "leakage check", "saving"]


def test_a_job_never_runs_the_page_script_again(registry, tmp_path, monkeypatch):
    """Streamlit runs a page as ``__main__``; the job's spawned process must not import (and so draw) it again."""
    import sys
    import types

    marker = tmp_path / "page-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    script = types.ModuleType("__main__")
    script.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", script)
    job = registry.submit(_task("epochs", n=1, out=str(tmp_path / "r")), name="job", owner="a")
    assert job.wait(timeout_s=60) and job.status == jobs.SUCCEEDED, job.error
    assert not marker.exists() and sys.modules["__main__"] is script


def test_the_work_queue_runs_a_few_at_a_time_in_order_and_refuses_beyond_its_line():
    import threading

    queue = jobs.WorkQueue(max_running=1, max_waiting=2)
    order, seen_ahead = [], []
    release = threading.Event()

    def holder():
        with queue.slot():
            order.append("first")
            release.wait(10)

    def waiter(name):
        with queue.slot(on_wait=lambda ahead: seen_ahead.append((name, ahead))):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    while queue.running == 0:
        time.sleep(0.01)
    second = threading.Thread(target=waiter, args=("second",))
    second.start()
    while queue.waiting < 1:
        time.sleep(0.01)
    third = threading.Thread(target=waiter, args=("third",))
    third.start()
    while queue.waiting < 2:
        time.sleep(0.01)
    with pytest.raises(InputError, match="busy with 3 long recordings"):
        with queue.slot():
            pass
    release.set()
    for thread in (first, second, third):
        thread.join(10)
    assert order == ["first", "second", "third"] and (queue.running, queue.waiting) == (0, 0)
    assert ("second", 1) in seen_ahead and ("third", 2) in seen_ahead


def test_a_wait_in_the_work_queue_can_time_out():
    queue = jobs.WorkQueue(max_running=1, max_waiting=1)
    with queue.slot():
        with pytest.raises(InputError, match="still busy"):
            with queue.slot(timeout_s=0.2):
                pass
    assert (queue.running, queue.waiting) == (0, 0)
