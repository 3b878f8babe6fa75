"""The dashboard as a hostile visitor sees it: public mode, names that become paths, zips, compute.

Every attack from the public-hosting review is replayed here and must end with a clear
message and nothing changed on disk.
"""

import io
import json
import zipfile

import pytest

from app_support import open_page, problems
from ui import cache, hosting, jobs

SUBMIT = "FormSubmitter:train_form-Start training"
ATTACK_NAMES = ["../../victim", "../artifacts/compare-adaptive-lr", ".", "..", "a/b", ".hidden", "-flag", "/etc"]


@pytest.fixture
def public_env(app_env, monkeypatch, tmp_path):
    """The app in public mode, with a private copy of the shared models folder."""
    import shutil

    models = tmp_path / "artifacts"
    shutil.copytree(app_env["artifacts"], models)
    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(models))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    return {**app_env, "artifacts": models, "victim": victim}


def _tree(root):
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*") if p.is_file())


def _submit(at, name, **values):
    if "Model" in values:  # outside the form: the form shows the settings of the chosen model, so choose it first
        at.selectbox(key="train_model").set_value(values.pop("Model")).run()
    for label, value in {"Model name": name, **values}.items():
        widget = next(w for w in [*at.selectbox, *at.number_input, *at.text_input] if w.label == label)
        widget.set_value(value)
    at.button(key=SUBMIT).click().run()
    return at


@pytest.mark.parametrize("mode", ["public", "local"])
@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_a_model_name_cannot_become_a_path(public_env, monkeypatch, mode, name):
    monkeypatch.setenv("SER_MODE", mode)
    before = _tree(public_env["victim"].parent)
    at = _submit(open_page("training"), name, Model="logistic_regression")
    assert [e.value for e in at.exception] == []
    assert any("cannot name a model folder" in e.value for e in at.error), [e.value for e in at.error]
    assert cache.job_registry().jobs() == []
    assert _tree(public_env["victim"].parent) == before


def test_replacing_a_model_needs_explicit_consent_locally_and_is_impossible_in_public(public_env, monkeypatch):
    from app_support import TINY_MODEL

    monkeypatch.setenv("SER_MODE", "local")
    at = _submit(open_page("training"), TINY_MODEL, Model="logistic_regression")
    assert any("already exists" in e.value and "Replace" in e.value for e in at.error)
    assert cache.job_registry().jobs() == []
    monkeypatch.setenv("SER_MODE", "public")
    at = open_page("training")
    assert "train_replace" not in [c.key for c in at.checkbox]


def test_a_visitor_cannot_take_a_shipped_models_name(public_env):
    """A visitor's model named like a shipped one would be listed twice and never be reachable."""
    from app_support import TINY_MODEL

    at = _submit(open_page("training"), TINY_MODEL, Model="logistic_regression")
    assert any("name of a shipped model" in e.value for e in at.error), [e.value for e in at.error]
    assert cache.job_registry().jobs() == []


def test_a_name_is_shown_as_typed_never_as_markdown(public_env):
    at = _submit(open_page("training"), "**bold**[x](https://evil.example)", Model="logistic_regression")
    (error,) = [e.value for e in at.error]
    assert "\\*\\*bold\\*\\*\\[x\\]\\(https" in error  # escaped: Streamlit shows the characters


def test_public_training_is_limited_private_and_goes_to_the_visitor_scratch(public_env, monkeypatch):
    before = _tree(public_env["artifacts"])
    at = open_page("training")
    assert problems(at) == []
    offered = {option.split(":")[0] for option in at.selectbox(key="train_model").options}
    assert offered == set(hosting.PUBLIC_MODELS)
    at.selectbox(key="train_model").set_value("cnn").run()  # a network: the form shows its epochs
    assert next(w for w in at.number_input if w.label == "Epochs").max == hosting.policy().max_epochs == 30
    _submit(at, "mine", Model="logistic_regression", **{"Folds (k-fold)": 2})
    assert problems(at) == []
    (job,) = cache.job_registry().jobs()
    assert job.owner == "testsessionid"  # AppTest's browser session
    _submit(at, "another", Model="logistic_regression")
    assert any("at most 1" in e.value for e in at.error)  # one waiting or running run per visitor
    monkeypatch.setattr(hosting, "visitor_id", lambda: "somebody-else")
    stranger = open_page("training")
    assert "No training run yet." in [c.value for c in stranger.caption]
    assert f"cancel_{job.id}" not in [b.key for b in stranger.button]
    monkeypatch.undo()
    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(public_env["artifacts"]))
    assert job.wait(timeout_s=300) and job.status == jobs.SUCCEEDED, job.error
    assert job.result.startswith(str(public_env["scratch"])) and "/models/mine" in job.result
    assert _tree(public_env["artifacts"]) == before
    _the_visitors_model_works_and_its_zip_names_no_server_path(job.result, public_env)


def test_a_visitors_own_model_loads_without_pickle_and_its_zip_names_no_server_path(public_env):
    from app_support import train_tiny_model

    models = public_env["scratch"] / "some-session" / "models"  # a visitor's scratch: not a trusted folder
    folder = train_tiny_model(models, public_env["data"], name="mine")
    _the_visitors_model_works_and_its_zip_names_no_server_path(folder, public_env)


def _the_visitors_model_works_and_its_zip_names_no_server_path(folder, env):
    """Finding 7: the model loads from untrusted scratch (no pickle); finding 2: its zip holds no server path."""
    import numpy as np

    from ser_core.modelfolder.read import is_trusted, load_model

    assert not is_trusted(folder)
    assert load_model(folder).labels
    with zipfile.ZipFile(io.BytesIO(cache.model_zip(folder))) as archive:
        names = archive.namelist()
        assert not any(name.endswith((".joblib", ".pkl", ".pickle")) for name in names), names
        texts = {name: archive.read(name).decode() for name in names if name.endswith((".json", ".md"))}
        with np.load(io.BytesIO(archive.read("mine/predictions.npz")), allow_pickle=False) as arrays:
            paths = [path for key in arrays.files if key.endswith("/paths") for path in arrays[key].tolist()]
    for server_path in (env["scratch"], env["data"], env["artifacts"], env["runs"]):
        assert not any(str(server_path) in text for text in texts.values()), server_path
    assert paths and all(path.startswith("Actor_0") for path in paths), paths[:3]
    assert json.loads(texts["mine/config.json"])["training"]["data"] == env["data"].name


def test_the_public_dataset_explorer_takes_no_server_path(public_env):
    at = open_page("dataset")
    assert problems(at) == []
    assert at.text_input == [] or all(t.key not in ("folder_path", "download_dest") for t in at.text_input)
    shown = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander])
    assert str(public_env["data"]) not in shown and "/tmp" not in shown
    assert "the corpus this server provides" in shown


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Actor_01/03-01-01-01-01-01-01.wav", b"\0" * (256 * 1024 * 1024))
    return buffer.getvalue()


def test_a_zip_bomb_upload_is_refused_and_nothing_is_kept(public_env):
    at = open_page("dataset")
    at.file_uploader(key="corpus_zip").upload("bomb.zip", _bomb(), "application/zip")
    at.run()
    [b for b in at.button if b.label == "Index this zip"][0].click().run()
    assert [e.value for e in at.exception] == []
    (error,) = [e.value for e in at.error]
    assert "bomb.zip" in error and "expands" in error
    assert "SER_ZIP" not in error, "a visitor is not told about the operator's settings"
    leftovers = [p for p in public_env["scratch"].rglob("*") if p.is_file()]
    assert leftovers == []


def test_public_error_messages_name_no_server_path(public_env):
    at = open_page("predict")
    at.radio(key="predict_source").set_value("Upload").run()
    at.file_uploader(key="predict_upload").upload("fake.wav", b"%PDF-1.4 not audio at all", "audio/wav").run()
    assert [e.value for e in at.exception] == []
    message = at.error[0].value
    assert "looks like a PDF document" in message and "/tmp" not in message and str(public_env["scratch"]) not in message


def test_a_visitor_is_never_blocked_by_nor_told_another_visitors_model_name(public_env, monkeypatch):
    at = _submit(open_page("training"), "", Model="logistic_regression", **{"Folds (k-fold)": 2})
    assert problems(at) == []
    (mine,) = cache.job_registry().jobs()
    monkeypatch.setattr(hosting, "visitor_id", lambda: "somebody-else")
    other = _submit(open_page("training"), "", Model="logistic_regression", **{"Folds (k-fold)": 2})
    assert problems(other) == []  # the same default name: B's model goes to B's own folder
    theirs = next(job for job in cache.job_registry().jobs() if job.owner == "somebody-else")
    assert theirs.name == mine.name and theirs.task["artifact_dir"] != mine.task["artifact_dir"]
    for job in (mine, theirs):
        job.cancel()
        assert job.wait(timeout_s=120)


HOSTILE_LABEL = "<img src=x onerror=alert(1)>"
HOSTILE_SPEAKER = "<svg onload=alert(2)>"


def test_html_in_a_corpus_label_or_speaker_name_is_shown_as_text(app_env, monkeypatch, tmp_path, ravdess_16k):
    root = tmp_path / "hostile"
    (root / "audio").mkdir(parents=True)
    rows = []
    for number, path in enumerate(sorted((ravdess_16k / "Actor_01").glob("*.wav"))[:8]):
        (root / "audio" / f"c{number}.wav").symlink_to(path)
        rows.append(f"audio/c{number}.wav,{HOSTILE_LABEL if number % 2 == 0 else 'calm'},{HOSTILE_SPEAKER}")
    (root / "clips.csv").write_text("path,label,speaker\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("SER_DATA_DIR", str(root / "clips.csv"))
    at = open_page("dataset")
    assert [e.value for e in at.exception] == []
    at.selectbox(key="explorer_emotion").set_value(HOSTILE_LABEL).run()
    rendered = [m.value for m in at.markdown if m.allow_html]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in text for text in rendered), rendered
    assert any("&lt;svg onload=alert(2)&gt;" in text for text in rendered), rendered
    assert not any("<img" in text or "<svg" in text for text in rendered), rendered


def _failing_page():
    from ui import hosting

    hosting.hide_error_details()  # what every page's widgets.page_setup does first
    raise RuntimeError("cannot open /srv/operator/secret.wav")


@pytest.mark.parametrize(("mode", "details_shown"), [("public", False), ("local", True)])
def test_an_uncaught_exception_shows_a_visitor_no_details_and_goes_to_the_log(monkeypatch, capfd, mode,
                                                                              details_shown):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SER_MODE", mode)
    at = AppTest.from_function(_failing_page).run()
    (shown,) = at.exception
    on_screen = " ".join([shown.message, *shown.stack_trace])
    assert ("/srv/operator/secret.wav" in on_screen) == details_shown, on_screen
    assert ("RuntimeError" in on_screen) == details_shown
    if not details_shown:
        assert "This app has encountered an error" in shown.message
        server_log = "".join(capfd.readouterr())
        assert "/srv/operator/" in server_log and "RuntimeError" in server_log  # the operator gets the whole story


def test_every_public_page_turns_error_details_off(public_env):
    import streamlit as st

    open_page("home")
    assert st.get_option("client.showErrorDetails") == "none"


def test_public_demo_without_a_corpus_offers_one_click_examples_with_the_true_label(public_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SER_DATA_DIR", str(tmp_path / "no-corpus"))
    home = open_page("home")
    assert problems(home) == []
    home.button(key="home_example").click().run()
    assert problems(home) == []
    assert home.session_state["predict_source"] == "Example"
    assert any(m.value.startswith(("✓", "✗")) for m in home.markdown)


def test_public_training_without_a_corpus_talks_about_training(public_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SER_DATA_DIR", str(tmp_path / "no-corpus"))
    at = open_page("training")
    text = " ".join(i.value for i in at.info)
    assert "Training needs a corpus of labelled clips" in text and "Prediction" not in text
