"""The Training page in AppTest: the form, a real background run, a failed run, a cancelled run."""

import pytest

from app_support import open_page, problems
from ui import cache, jobs

SUBMIT = "FormSubmitter:train_form-Start training"


@pytest.fixture
def app_env(app_env, tmp_path, monkeypatch):
    """The shared environment, with a private copy of the artifacts folder to train into."""
    import shutil

    private = tmp_path / "artifacts"
    shutil.copytree(app_env["artifacts"], private)
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(private))
    return {**app_env, "artifacts": private}


def _page():
    return open_page("training")


#: Settings outside the form: the form shows only what applies to them, so they are chosen (and run) first.
CHOICES = ("Model", "Protocol")


def _fill(at, **values):
    if any(label in values for label in CHOICES):  # a run here drops form values set before: set those after
        for label in CHOICES:
            if label in values:
                next(w for w in at.selectbox if w.label == label).set_value(values[label])
        at.run()
    for label, value in values.items():
        if label in CHOICES:
            continue
        widget = next(w for w in [*at.selectbox, *at.number_input, *at.text_input] if w.label == label)
        widget.set_value(value)
    at.button(key=SUBMIT).click().run()
    return at


def _labels(at) -> set:
    return {w.label for w in [*at.selectbox, *at.number_input, *at.text_input, *at.multiselect]}


def _only_job():
    """The one job of this test's registry (each test has its own runs folder)."""
    (job,) = cache.job_registry().jobs(owner="local")
    return job


def test_form_shows_only_what_applies_and_starts_on_the_best_quick_model(app_env):
    at = _page()
    assert problems(at) == []
    assert at.selectbox(key="train_model").value == "logistic_regression"  # the shipped tiny model, trained in seconds
    network_only = {"Loss (the study's networks)", "Epochs", "Batch size", "Learning rate"}
    assert _labels(at) >= {"Model", "Features", "Protocol", "Seed", "Folds (k-fold)", "Model name",
                           "Augment the training clips"}
    assert not _labels(at) & (network_only | {"Test speakers (held-out)", "Test corpus (cross-corpus protocol)"})
    at.selectbox(key="train_model").set_value("cnn").run()
    assert _labels(at) >= network_only
    at.selectbox(key="train_protocol").set_value("holdout").run()
    assert "Test speakers (held-out)" in _labels(at) and "Folds (k-fold)" not in _labels(at)
    at.selectbox(key="train_protocol").set_value("cross_corpus").run()
    assert "Test corpus (cross-corpus protocol)" in _labels(at) and "Test speakers (held-out)" not in _labels(at)
    assert "No training run yet." in [c.value for c in at.caption]
    protocol = next(w for w in at.selectbox if w.label == "Protocol")
    assert not any("leave one corpus out" in option for option in protocol.options)  # one corpus here


def test_time_left_follows_the_pace_of_folds_not_the_feature_extraction():
    from ui.training import remaining_s

    # 20 s of features, then 6 units (5 folds + final) of 1 s each: the old estimate said about 2 minutes
    history = [{"stage": "features", "elapsed_s": 0.0}]
    assert remaining_s(history, n_epochs=1) is None
    history += [{"fold": k, "n_folds": 5, "stage": "fold done", "elapsed_s": 20.0 + k} for k in (1, 2)]
    assert remaining_s(history, n_epochs=1) == pytest.approx(4.0)
    epochs = [{"fold": 1, "n_folds": 5, "epoch": e, "loss": 1.0, "elapsed_s": 30.0 + 2 * e} for e in (1, 2, 3)]
    assert remaining_s(epochs, n_epochs=10) == pytest.approx(2 * (7 + 10 * 5))


@pytest.mark.slow
def test_background_run_becomes_an_artifact_in_the_comparison(app_env):
    at = _page()
    _fill(at, **{"Model": "cnn", "Epochs": 2, "Folds (k-fold)": 3, "Model name": "ui-cnn"})
    assert problems(at) == []
    job = _only_job()
    assert job.wait(timeout_s=600) and job.status == jobs.SUCCEEDED, job.error
    epochs = [h for h in job.history_copy() if "epoch" in h]
    assert {h["fold"] for h in epochs} == {1, 2, 3, "final"}
    at.run()
    assert problems(at) == []
    assert "ui-cnn" in at.success[0].value
    folder = app_env["artifacts"] / "ui-cnn"
    saved = {p.name for p in folder.iterdir()}
    assert {"config.json", "metrics.json", "MODEL_CARD.md", "model.keras"} <= saved
    assert (app_env["runs"] / job.id / "history.jsonl").is_file()
    comparison = open_page("comparison")
    assert "ui-cnn" in " ".join(comparison.dataframe[0].value["model"])


def test_failed_run_says_why_and_leaves_no_artifact(app_env):
    before = sorted(p.name for p in app_env["artifacts"].iterdir())
    at = _page()
    at.selectbox(key="train_model").set_value("svm")
    at.selectbox(key="train_protocol").set_value("holdout").run()
    at.multiselect(key="train_test_speakers").set_value(["01", "02", "03"])
    _fill(at, **{"Model name": "doomed"})
    job = _only_job()
    assert job.wait(timeout_s=300) and job.status == jobs.FAILED
    at.run()
    assert [e.value for e in at.exception] == []
    (message,) = [e.value for e in at.error]
    assert message.startswith("Training failed:") and "every speaker is a test speaker" in message
    assert sorted(p.name for p in app_env["artifacts"].iterdir()) == before


@pytest.mark.slow
def test_cancel_stops_the_run_without_an_artifact(app_env):
    before = sorted(p.name for p in app_env["artifacts"].iterdir())
    at = _page()
    _fill(at, **{"Model": "cnn", "Epochs": 200, "Model name": "cancelled"})
    job = _only_job()
    import time

    deadline = time.monotonic() + 300
    while not any("epoch" in h for h in job.history_copy()) and time.monotonic() < deadline:
        time.sleep(0.5)
    at.run()
    at.button(key=f"cancel_{job.id}").click().run()
    assert job.cancel_requested
    assert job.wait(timeout_s=300) and job.status == jobs.CANCELLED
    at.run()
    assert [e.value for e in at.exception] == []
    assert "Cancelled" in at.info[-1].value
    assert sorted(p.name for p in app_env["artifacts"].iterdir()) == before


def test_augmented_run_says_so_and_records_it(app_env):
    at = _page()
    at.selectbox(key="train_model").set_value("logistic_regression").run()
    at.multiselect(key="train_augment").set_value(["speed0.9"])
    _fill(at, **{"Features": "MFCC-16000-13", "Folds (k-fold)": 2, "Model name": "ui-aug"})
    assert problems(at) == []
    job = _only_job()
    assert job.settings["data"]["augment"] == ["speed0.9"]
    assert job.wait(timeout_s=600) and job.status == jobs.SUCCEEDED, job.error
    at.run()
    assert any("augmented with speed0.9" in m.value for m in at.markdown)


def test_without_librosa_pitch_shifts_are_not_offered_and_the_page_says_why(app_env, monkeypatch):
    from importlib import util

    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "librosa" else real(name, *a))
    at = _page()
    assert problems(at) == []
    options = at.multiselect(key="train_augment").options
    assert "speed0.9" in options and not [option for option in options if option.startswith("pitch")]
    assert any("librosa" in c.value and "requirements-train.txt" in c.value for c in at.caption)


def test_train_on_this_corpus_test_on_another(app_env, tiny_emodb):
    at = _page()
    protocol = next(w for w in at.selectbox if w.label == "Protocol")
    assert "another corpus (named below)" in protocol.options
    at.selectbox(key="train_model").set_value("logistic_regression")
    protocol.set_value("cross_corpus").run()
    at.text_input(key="train_test_data").set_value(str(tiny_emodb))
    _fill(at, **{"Features": "MFCC-16000-13", "Model name": "ui-cross"})
    assert problems(at) == []
    job = _only_job()
    assert job.settings["protocol"]["name"] == "cross_corpus" and job.settings["protocol"]["test_data"] == str(tiny_emodb)
    assert job.wait(timeout_s=600) and job.status == jobs.SUCCEEDED, job.error
    comparison = open_page("comparison")
    assert problems(comparison) == []
    assert "Tested on another corpus" in [h.value for h in comparison.subheader]
    tables = [frame.value for frame in comparison.dataframe]
    glance = tables[0]
    cross = next(table for table in tables if "test_corpus" in table.columns)
    assert not any(name.startswith("ui-cross") for name in glance["model"])
    row = cross[cross["name"] == "ui-cross"].iloc[0]
    assert (row["test_corpus"], row["n_left_out"]) == ("emodb", 4)
    assert row["shared_labels"] == "neutral, happy, sad, angry, fearful, disgust"


def test_leave_one_corpus_out_is_offered_for_several_corpora_and_reaches_the_comparison(app_env, tiny_corpora,
                                                                                          monkeypatch):
    monkeypatch.setenv("SER_DATA_DIR", str(tiny_corpora))
    at = _page()
    assert problems(at) == []
    assert any("54 clips of 6 speakers in 3 corpora (a, b, c)" in c.value for c in at.caption)
    title = "speech it was not trained on: leave one corpus out (3 corpora)"
    assert title in next(w for w in at.selectbox if w.label == "Protocol").options
    _fill(at, **{"Model": "logistic_regression", "Features": "MFCC-16000-13", "Protocol": title,
                 "Folds (k-fold)": 3, "Model name": "ui-loco"})
    assert problems(at) == []
    job = _only_job()
    assert job.settings["protocol"]["name"] == "loco" and job.settings["protocol"]["also"] == ["kfold"]
    assert job.wait(timeout_s=600) and job.status == jobs.SUCCEEDED, job.error
    at.run()
    assert "ui-loco" in at.success[0].value and "new speakers (3-fold by speaker)" in at.success[0].value
    assert any(link.label == "See ui-loco on Model comparison" for link in at.get("page_link"))
    comparison = open_page("comparison")
    assert problems(comparison) == []
    per_corpus = next(frame.value for frame in comparison.dataframe if "corpus left out" in frame.value.columns)
    rows = per_corpus[per_corpus["name"] == "ui-loco"]
    assert list(rows["corpus left out"]) == ["a", "b", "c", "mean of 3"]


def test_the_protocols_fold_count_is_the_folds_box_for_a_corpus_of_three_speakers(app_env, tiny_manifest,
                                                                                  monkeypatch):
    monkeypatch.setenv("SER_DATA_DIR", str(tiny_manifest))
    at = _page()
    assert problems(at) == []
    assert at.number_input(key="train_folds").value == 3
    protocol = next(w for w in at.selectbox if w.label == "Protocol")
    assert "new speakers (3-fold by speaker)" in protocol.options
    assert not any("5-fold" in option for option in protocol.options)
