"""Tests for ser_core.artifacts: complete, atomic, safe model folders that predict from audio."""

import json

import numpy as np
import pytest

from ser_core import artifacts
from ser_core.artifacts import default_model_dir, list_artifacts, load_model, save_artifact, set_default_model
from ser_core.errors import ArtifactError
from ser_core.models.registry import make_model

from conftest import speechlike, tone


def _fitted_forest():
    from ser_core.features import extract

    clips = [speechlike(seed=s, pitch_hz=120 + 40 * (s % 2)) for s in range(8)]
    X = np.stack([extract(y, spec="MFCC-16000-13", sample_rate=16000) for y in clips])
    y = np.array(["happy", "sad"] * 4)
    return make_model("random_forest", n_estimators=10, seed=0).fit(X, y)


@pytest.fixture(scope="module")
def forest():
    return _fitted_forest()


@pytest.fixture
def saved(tmp_path, forest):
    return save_artifact(tmp_path / "forest", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                         metrics={"protocols": {}}, latency=False)


def test_saved_folder_is_complete_and_loads_when_trusted(saved, wav_file):
    names = {p.name for p in saved.iterdir()}
    assert {"config.json", "metrics.json", "MODEL_CARD.md", "model.joblib"} <= names
    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == artifacts.FORMAT_VERSION
    assert config["features"]["settings"]["n_mfcc"] == 13 and config["preprocess"]["top_db"] == 20.0
    model = load_model(saved, trust=True)
    y = speechlike(seed=1)
    path = wav_file(y)
    from_array = model.predict_proba(y, sample_rate=16000)
    np.testing.assert_allclose(model.predict_proba(path), from_array, atol=1e-4)
    np.testing.assert_allclose(model.predict_proba(path.read_bytes()), model.predict_proba(path), atol=1e-6)
    assert model.predict(path) in model.labels and model.labels == ["happy", "sad"]
    # a 48 kHz array is resampled to the model's 16 kHz
    assert model.predict_proba(speechlike(seed=1, sample_rate=48000), sample_rate=48000).shape == (2,)


def test_untrusted_pickle_is_refused(saved):
    with pytest.raises(ArtifactError, match="trust=True"):
        load_model(saved)


def _break(folder, how):
    if how == "no config":
        (folder / "config.json").unlink()
    elif how == "bad json":
        (folder / "config.json").write_text("{not json")
    elif how == "old version":
        config = json.loads((folder / "config.json").read_text())
        config["format_version"] = 99
        (folder / "config.json").write_text(json.dumps(config))
    elif how == "no weights":
        (folder / "model.joblib").unlink()
    elif how == "tampered weights":
        (folder / "model.joblib").write_bytes(b"not a pickle")
    elif how == "no metrics":
        (folder / "metrics.json").unlink()
    elif how == "missing key":
        config = json.loads((folder / "config.json").read_text())
        del config["labels"]
        (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "how, match",
    [
        ("no config", "config.json is missing"),
        ("bad json", "not valid JSON"),
        ("old version", "format_version 99"),
        ("no weights", "model.joblib is missing"),
        ("tampered weights", "SHA-256"),
        ("no metrics", "metrics.json is missing"),
        ("missing key", "missing labels"),
    ],
)
def test_broken_folders_name_the_problem(saved, how, match):
    _break(saved, how)
    with pytest.raises(ArtifactError, match=match):
        load_model(saved, trust=True)


def test_missing_folder(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        load_model(tmp_path / "nothing")


def test_crash_mid_save_leaves_nothing_that_looks_valid(tmp_path, forest, monkeypatch):
    def crash(folder):
        (folder / "model.joblib").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(forest, "save", crash)
    with pytest.raises(RuntimeError):
        save_artifact(tmp_path / "m", forest, model_name="random_forest", feature_kind="MFCC-16000-13")
    assert list(tmp_path.iterdir()) == []


def test_resave_replaces_the_folder(saved, forest):
    save_artifact(saved, forest, model_name="random_forest", feature_kind="MFCC-16000-13")
    assert [p.name for p in saved.parent.iterdir()] == ["forest"]


def test_list_and_default(tmp_path, saved):
    (tmp_path / "junk").mkdir()
    rows = {row["name"]: row for row in list_artifacts(tmp_path)}
    assert rows["forest"]["model"] == "random_forest" and "error" in rows["junk"]
    with pytest.raises(ArtifactError, match="DEFAULT is missing"):
        default_model_dir(tmp_path)
    set_default_model("forest", root=tmp_path)
    assert default_model_dir(tmp_path) == saved
    (tmp_path / "DEFAULT").write_text("../elsewhere")
    with pytest.raises(ArtifactError):
        default_model_dir(tmp_path)


def test_array_input_needs_a_sample_rate(saved):
    model = load_model(saved, trust=True)
    with pytest.raises(Exception, match="sample_rate"):
        model.predict_proba(tone())
