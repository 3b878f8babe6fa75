"""ui.paths: where the dashboard finds data, models, runs and uploads."""

from pathlib import Path

import pytest

from ser_core.download import RAVDESS_CLIPS, RAVDESS_URL
from ui import paths


@pytest.mark.parametrize(("env", "dev_exists", "expected"), [
    ("/data/ravdess", True, Path("/data/ravdess")),
    ("", True, "dev"),
    ("", False, None),
    ("   ", False, None),
])
def test_default_data_dir_prefers_the_env_var(monkeypatch, tmp_path, env, dev_exists, expected):
    dev = tmp_path / "dev"
    if dev_exists:
        dev.mkdir()
    monkeypatch.setattr(paths, "DEV_DATA_DIR", dev)
    monkeypatch.setenv(paths.DATA_ENV, env)
    assert paths.default_data_dir() == (dev if expected == "dev" else expected)


@pytest.mark.parametrize(("function", "variable", "default"), [
    (paths.artifacts_root, "SER_ARTIFACTS_DIR", paths.REPO_ROOT / "artifacts"),
    (paths.runs_root, "SER_RUNS_DIR", paths.REPO_ROOT / "runs"),
    (paths.downloads_root, "SER_DOWNLOAD_DIR", Path.home() / "ser_studio_data" / "ravdess"),
])
def test_folders_follow_their_env_vars(monkeypatch, tmp_path, function, variable, default):
    monkeypatch.delenv(variable, raising=False)
    assert function() == default
    monkeypatch.setenv(variable, str(tmp_path))
    assert function() == tmp_path


def test_uploads_are_saved_once_by_content(tmp_path):
    first = paths.save_upload(b"abc", name="../../evil/clip.zip")
    again = paths.save_upload(b"abc", name="clip.zip")
    other = paths.save_upload(b"abcd", name="clip.zip")
    assert first == again and first.name == "clip.zip" and first.read_bytes() == b"abc"
    assert other != first and other.read_bytes() == b"abcd"


def test_ravdess_source_official_or_mirror(monkeypatch):
    monkeypatch.delenv("SER_RAVDESS_URL", raising=False)
    assert paths.ravdess_source() == (RAVDESS_URL, RAVDESS_CLIPS)
    monkeypatch.setenv("SER_RAVDESS_URL", "http://mirror.example/ravdess.zip")
    assert paths.ravdess_source() == ("http://mirror.example/ravdess.zip", None)
