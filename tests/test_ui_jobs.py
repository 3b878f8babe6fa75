"""ui.jobs: background runs, their outcomes, cancellation and concurrent jobs."""

import json
import threading

import pytest

from ser_core.errors import FeatureError, TrainingCancelled
from ui import jobs


@pytest.fixture
def registry(tmp_path):
    return jobs.JobRegistry(root=tmp_path / "runs")


def _epochs(n):
    def work(progress, should_stop, out_dir):
        for epoch in range(1, n + 1):
            progress({"epoch": epoch, "loss": 1.0 / epoch})
        (out_dir / "result.txt").write_text(out_dir.name)
        return out_dir / "result.txt"

    return work


def _raise(error):
    def work(progress, should_stop, out_dir):
        progress({"epoch": 1})
        raise error

    return work


def test_success_records_history_result_and_log(registry):
    job = registry.submit(_epochs(3), name="ok", settings={"epochs": 3})
    assert job.wait(timeout_s=10) and job.status == jobs.SUCCEEDED and job.error is None
    assert [h["epoch"] for h in job.history_copy()] == [1, 2, 3]
    assert job.result.read_text() == job.id
    lines = (job.out_dir / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert json.loads((job.out_dir / "job.json").read_text())["status"] == "succeeded"
    assert job.elapsed_s >= 0 and registry.running() == []


@pytest.mark.parametrize(("error", "status", "message"), [
    (FeatureError("unknown feature kind 'X'"), jobs.FAILED, "unknown feature kind 'X'"),
    (TrainingCancelled("stopped at epoch 1"), jobs.CANCELLED, "stopped at epoch 1"),
    (ZeroDivisionError("division by zero"), jobs.FAILED, "ZeroDivisionError: division by zero"),
])
def test_failures_say_why(registry, error, status, message):
    job = registry.submit(_raise(error), name="bad")
    assert job.wait(timeout_s=10)
    assert (job.status, job.error) == (status, message)
    assert json.loads((job.out_dir / "job.json").read_text())["error"] == message


def test_cancel_is_seen_by_should_stop(registry):
    started, seen = threading.Event(), []

    def work(progress, should_stop, out_dir):
        started.set()
        while not should_stop():
            threading.Event().wait(0.01)
        seen.append(True)
        raise TrainingCancelled("cancelled by the user")

    job = registry.submit(work, name="long")
    assert started.wait(5) and not job.finished
    job.cancel()
    assert job.wait(timeout_s=5) and job.status == jobs.CANCELLED and seen == [True]


def test_two_jobs_run_at_once_in_their_own_folders(registry):
    gate = threading.Barrier(2, timeout=5)

    def work(progress, should_stop, out_dir):
        gate.wait()  # both are running at the same time
        (out_dir / "weights.bin").write_text(out_dir.name)
        return out_dir

    first = registry.submit(work, name="a")
    second = registry.submit(work, name="b")
    assert first.wait(timeout_s=10) and second.wait(timeout_s=10)
    assert first.status == second.status == jobs.SUCCEEDED
    assert first.out_dir != second.out_dir
    assert (first.out_dir / "weights.bin").read_text() == first.id
    assert (second.out_dir / "weights.bin").read_text() == second.id
    assert [j.id for j in registry.jobs()] == [second.id, first.id]
    assert registry.get(first.id) is first and registry.get("nope") is None


def test_claimed_names_never_collide(registry):
    assert registry.claim_name("cnn-kfold", taken=["cnn-kfold"]) == "cnn-kfold-2"
    assert registry.claim_name("cnn-kfold", taken=["cnn-kfold"]) == "cnn-kfold-3"
    assert registry.claim_name("svm") == "svm"


@pytest.mark.slow
def test_training_work_saves_a_complete_loadable_model(registry, app_corpus, tmp_path):
    from ser_core.artifacts import load_model
    from ser_core.train import TrainConfig

    config = TrainConfig(model="cnn", protocol="kfold", n_folds=3, epochs=2)
    work = jobs.training_work(config, data=str(app_corpus), artifact_dir=tmp_path / "artifacts" / "cnn")
    job = registry.submit(work, name="cnn", settings=config.to_dict())
    assert job.wait(timeout_s=600) and job.status == jobs.SUCCEEDED, job.error
    model = load_model(job.result, trust=True)
    assert model.metrics["latency_ms_per_3s_clip"] > 0
    assert model.metrics["protocols"]["kfold"]["summary"]["accuracy"]["n"] == 3
    stages = [h.get("stage") for h in job.history_copy() if "stage" in h]
    assert stages == ["features", "saving"]
