"""Tests for ser_core.modelfolder.read: complete, atomic, safe model folders that predict from audio."""

import json

import numpy as np
import pytest

from ser_core.errors import ArtifactError
from ser_core.modelfolder import read as artifacts
from ser_core.modelfolder.read import default_model_dir, list_artifacts, load_model, set_default_model
from ser_core.modelfolder.save import save_artifact
from ser_core.models.registry import make_model

from conftest import speechlike, tone


def _fitted_forest(seed=0):
    from ser_core.audio.preprocess import preprocess
    from ser_core.features import extract

    clips = [preprocess(speechlike(seed=s, pitch_hz=120 + 40 * (s % 2)), sample_rate=16000) for s in range(8)]
    X = np.stack([extract(y, spec="MFCC-16000-13", sample_rate=16000) for y in clips])
    y = np.array(["happy", "sad"] * 4)
    return make_model("random_forest", n_estimators=10, seed=seed).fit(X, y)


@pytest.fixture(scope="module")
def forest():
    return _fitted_forest()


@pytest.fixture
def saved(tmp_path, forest):
    return save_artifact(tmp_path / "forest", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                         metrics={"protocols": {}}, latency=False)


def test_saved_folder_is_complete_and_loads_when_trusted(saved, wav_file):
    names = {p.name for p in saved.iterdir()}
    assert {"config.json", "metrics.json", "MODEL_CARD.md", "sklearn_pipeline.json", "sklearn_pipeline.npz"} <= names
    assert not any(name.endswith((".joblib", ".pkl", ".pickle")) for name in names)
    config = json.loads((saved / "config.json").read_text())
    assert config["format_version"] == artifacts.FORMAT_VERSION
    assert config["features"]["settings"]["n_mfcc"] == 13 and config["preprocess"]["top_db"] == 20.0
    model = load_model(saved, trust=True)
    y = speechlike(seed=1)
    path = wav_file(y)
    from_array = model.predict_audio(y, sample_rate=16000).to_array()
    np.testing.assert_allclose(model.predict_audio(path).to_array(), from_array, atol=1e-4)
    np.testing.assert_allclose(model.predict_audio(path.read_bytes()).to_array(), model.predict_audio(path).to_array(),
                               atol=1e-6)
    assert model.predict_audio(path).label in model.labels and model.labels == ["happy", "sad"]
    # a 48 kHz array is resampled to the model's 16 kHz
    assert model.predict_audio(speechlike(seed=1, sample_rate=48000), sample_rate=48000).to_array().shape == (2,)


def test_a_folder_saved_without_librosa_records_the_versions_it_has(tmp_path, forest, librosa_not_installed):
    folder = save_artifact(tmp_path / "forest", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                           metrics={"protocols": {}}, latency=False)
    versions = json.loads((folder / "config.json").read_text())["versions"]
    assert versions["numpy"] == np.__version__ and "librosa" not in versions


def test_a_scikit_learn_folder_loads_from_anywhere_without_trust(saved, forest):
    """A visitor's own model lives in their untrusted scratch folder: it has no pickle, so it loads."""
    assert not artifacts.is_trusted(saved)
    X = np.random.default_rng(0).normal(size=(4, forest.pipeline_.n_features_in_))
    np.testing.assert_array_equal(load_model(saved).estimator.predict_proba(X), forest.predict_proba(X))


def _as_earlier_release(folder, forest):
    """Rewrite a saved folder the way releases before the plain-array format did: a joblib pickle."""
    import joblib

    for name in ("sklearn_pipeline.json", "sklearn_pipeline.npz"):
        (folder / name).unlink()
    joblib.dump(forest.pipeline_, folder / "model.joblib")
    config = json.loads((folder / "config.json").read_text())
    config["files"] = {name: digest for name, digest in config["files"].items() if not name.startswith("sklearn_")}
    config["files"]["model.joblib"] = artifacts.file_sha256(folder / "model.joblib")
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_an_earlier_releases_pickle_loads_only_when_trusted(saved, forest, monkeypatch):
    _as_earlier_release(saved, forest)
    with pytest.raises(ArtifactError, match="trust=True"):
        load_model(saved)
    X = np.random.default_rng(0).normal(size=(4, forest.pipeline_.n_features_in_))
    np.testing.assert_array_equal(load_model(saved, trust=True).estimator.predict_proba(X), forest.predict_proba(X))
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(saved.parent))  # a trusted root: the operator's own models
    assert load_model(saved).labels == ["happy", "sad"]


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
        (folder / "sklearn_pipeline.npz").unlink()
    elif how == "tampered weights":
        (folder / "sklearn_pipeline.npz").write_bytes(b"not arrays")
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
        ("no weights", "sklearn_pipeline.npz is missing"),
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
        model.predict_audio(tone())


# ---------------------------------------------------------------- names, crashes, calibration, ensembles
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from ser_core.errors import InputError  # noqa: E402
from ser_core.modelfolder.read import check_model_name, folder_in  # noqa: E402
from ser_core.modelfolder.save import save_ensemble, update_metrics  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("name", "ok"), [
    ("my-cnn", True), ("cnn_v2.1", True), ("A", True), ("", False), (".", False), ("..", False),
    ("../x", False), ("a/b", False), (".hidden", False), ("-rf", False), ("a" * 64, True), ("a" * 65, False),
    ("naïve", False), ("a b", False), ("a\\b", False),
])
def test_model_names_are_one_safe_path_component(name, ok):
    if ok:
        assert check_model_name(name) == name
    else:
        with pytest.raises(InputError, match="cannot name a model folder"):
            check_model_name(name)


def test_a_name_that_resolves_outside_its_root_is_refused(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="outside"):
        folder_in(tmp_path / "root", "link")
    assert folder_in(tmp_path / "root", "fresh") == tmp_path / "root" / "fresh"


_SAVE_AGAIN = """
import sys
sys.path[:0] = [{repo!r}, {tests!r}]
import numpy as np
from ser_core import atomic
from ser_core.modelfolder.save import save_artifact
from test_artifacts import _fitted_forest
if {fallback}:
    atomic._renameat2_exchange = lambda first, second: False
forest = _fitted_forest(seed=7)
save_artifact({folder!r}, forest, model_name="random_forest", feature_kind="MFCC-16000-13", latency=False)
"""

CHECKPOINTS = [("after-weights", False), ("after-config", False), ("after-metrics", False), ("before-swap", False),
               ("after-swap", False), ("before-swap", True), ("between-renames", True), ("after-swap", True)]


@pytest.mark.slow
@pytest.mark.parametrize(("checkpoint", "fallback"), CHECKPOINTS)
def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_model(tmp_path, forest, checkpoint, fallback):
    import os

    from ser_core.modelfolder.read import list_artifacts

    folder = save_artifact(tmp_path / "m", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                           latency=False)
    clip = speechlike(seed=3)
    old = load_model(folder, trust=True).predict_audio(clip, sample_rate=16000).to_array()
    code = _SAVE_AGAIN.format(repo=str(REPO), tests=str(REPO / "tests"), folder=str(folder), fallback=fallback)
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, "SER_CRASH_AT": checkpoint},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 137, run.stderr
    loaded = load_model(folder, trust=True).predict_audio(clip, sample_rate=16000).to_array()
    new = _fitted_forest(seed=7).predict_proba(load_model(folder, trust=True).features(clip, sample_rate=16000)[None])[0]
    assert np.allclose(loaded, old) or np.allclose(loaded, new)
    list_artifacts(tmp_path)  # the next start tidies what the crash left beside the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_metrics_rewrite_killed_midway_keeps_the_old_metrics(saved):
    import os

    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from ser_core.modelfolder.save import update_metrics\n"
            f"update_metrics({str(saved)!r}, {{'latency_ms_per_3s_clip': 1.0}})")
    run = subprocess.run([sys.executable, "-c", code], env={**os.environ, "SER_CRASH_AT": "write:metrics.json"},
                         capture_output=True, timeout=120)
    assert run.returncode == 137
    assert load_model(saved, trust=True).metrics.latency_ms_per_3s_clip is None
    update_metrics(saved, {"latency_ms_per_3s_clip": 1.0})
    assert load_model(saved, trust=True).metrics.latency_ms_per_3s_clip == 1.0


def test_the_saved_temperature_calibrates_the_probabilities(tmp_path, forest):
    from ser_core.scoring.temperature import apply_temperature

    plain = save_artifact(tmp_path / "plain", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                          latency=False)
    warm = save_artifact(tmp_path / "warm", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                         calibration={"temperature": 2.5}, latency=False)
    clip = speechlike(seed=2)
    raw = load_model(plain, trust=True).predict_audio(clip, sample_rate=16000).to_array()
    np.testing.assert_allclose(load_model(warm, trust=True).predict_audio(clip, sample_rate=16000).to_array(),
                               apply_temperature(raw[None], 2.5)[0], atol=1e-9)


def test_an_ensemble_averages_its_members_and_loads_from_one_folder(tmp_path, forest):
    from ser_core.modelfolder.loaded import EnsembleModel
    from ser_core.scoring.temperature import apply_temperature

    a = save_artifact(tmp_path / "a", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                      calibration={"temperature": 2.0}, latency=False)
    other = _fitted_forest(seed=5)
    b = save_artifact(tmp_path / "b", other, model_name="random_forest", feature_kind="MFCC-16000-13", latency=False)
    folder = save_ensemble(tmp_path / "ens", [(a, 1.0), (b, 3.0)], calibration={"temperature": 0.5}, latency=True)
    model = load_model(folder, trust=True)
    assert isinstance(model, EnsembleModel) and model.labels == ["happy", "sad"]
    assert (folder / "members" / "a" / "config.json").is_file() and model.metrics.latency_ms_per_3s_clip > 0
    clip = speechlike(seed=4)
    pa = load_model(a, trust=True).predict_audio(clip, sample_rate=16000).to_array()
    pb = load_model(b, trust=True).predict_audio(clip, sample_rate=16000).to_array()
    expected = apply_temperature(((pa + 3 * pb) / 4)[None], 0.5)[0]
    np.testing.assert_allclose(model.predict_audio(clip, sample_rate=16000).to_array(), expected, atol=1e-9)
    assert "ensemble of" in model.describe()


def test_a_folder_of_the_first_release_still_loads_with_its_own_preprocessing(tmp_path, forest):
    folder = save_artifact(tmp_path / "old", forest, model_name="random_forest", feature_kind="MFCC-16000-13",
                           latency=False)
    config = json.loads((folder / "config.json").read_text())
    config["format_version"] = 1
    for key in ("calibration", "family"):
        config.pop(key)
    config["preprocess"].pop("remove_dc")
    (folder / "config.json").write_text(json.dumps(config))
    model = load_model(folder, trust=True)
    assert model.settings.remove_dc is False and model.temperature == 1.0
