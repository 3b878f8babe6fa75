"""ui.paths: where the dashboard finds data, runs and a visitor's uploads."""

import io
import zipfile
from pathlib import Path

import pytest

from ser_core.data.download import RAVDESS_CLIPS, RAVDESS_URL
from ser_core.errors import CorpusError
from ui import paths


@pytest.mark.parametrize(("mode", "env", "dev_exists", "expected"), [
    ("local", "/data/ravdess", True, Path("/data/ravdess")),
    ("local", "", True, "dev"),
    ("local", "", False, None),
    ("local", "   ", False, None),
    ("public", "/data/ravdess", True, Path("/data/ravdess")),
    ("public", "", True, None),  # a public server never falls back to a folder of its own
])
def test_default_data_dir(monkeypatch, tmp_path, mode, env, dev_exists, expected):
    dev = tmp_path / "dev"
    if dev_exists:
        dev.mkdir()
    monkeypatch.setattr(paths, "DEV_DATA_DIR", dev)
    monkeypatch.setenv("SER_MODE", mode)
    monkeypatch.setenv(paths.DATA_ENV, env)
    assert paths.default_data_dir() == (dev if expected == "dev" else expected)


@pytest.mark.parametrize(("function", "variable", "default"), [
    (paths.runs_root, "SER_RUNS_DIR", paths.REPO_ROOT / "runs"),
    (paths.downloads_root, "SER_DOWNLOAD_DIR", Path.home() / "ser_studio_data" / "ravdess"),
])
def test_folders_follow_their_env_vars(monkeypatch, tmp_path, function, variable, default):
    monkeypatch.delenv(variable, raising=False)
    assert function() == default
    monkeypatch.setenv(variable, str(tmp_path))
    assert function() == tmp_path


def _zip(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_upload_is_unpacked_once_into_the_visitor_scratch(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_MODE", "local")
    monkeypatch.setenv("SER_SCRATCH_DIR", str(tmp_path / "scratch"))
    data = _zip({"Actor_01/a.wav": b"x" * 10, "../../escape.txt": b"no"})
    folder = paths.unpack_upload(data, name="../../evil name.zip")
    assert folder.parent == tmp_path / "scratch" / "local" / "corpora"
    assert (folder / "Actor_01" / "a.wav").read_bytes() == b"x" * 10
    assert not (tmp_path / "escape.txt").exists() and not list(tmp_path.rglob("escape.txt"))
    assert paths.unpack_upload(data, name="../../evil name.zip") == folder  # the same upload again
    assert not list((tmp_path / "scratch" / "local" / "uploads").iterdir())  # the zip itself is gone


def test_a_zip_bomb_upload_is_refused_before_anything_is_written(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_MODE", "public")
    monkeypatch.setenv("SER_SCRATCH_DIR", str(tmp_path / "scratch"))
    from ui import hosting

    monkeypatch.setattr(hosting, "_session_id", lambda: "visitor-a")  # a visitor's own browser session
    bomb = _zip({"zeros.bin": b"\0" * (64 * 1024 * 1024)})
    assert len(bomb) < 200_000
    with pytest.raises(CorpusError, match=r"bomb\.zip: entry zeros\.bin expands .* times") as refused:
        paths.unpack_upload(bomb, name="bomb.zip")
    assert "SER_ZIP" not in str(refused.value), "public mode: no operator settings in a visitor's message"
    corpora = tmp_path / "scratch" / "visitor-a" / "corpora"
    assert not corpora.exists() or not any(corpora.iterdir())


def test_ravdess_source_official_or_mirror(monkeypatch):
    monkeypatch.delenv("SER_RAVDESS_URL", raising=False)
    assert paths.ravdess_source() == (RAVDESS_URL, RAVDESS_CLIPS)
    monkeypatch.setenv("SER_RAVDESS_URL", "http://mirror.example/ravdess.zip")
    assert paths.ravdess_source() == ("http://mirror.example/ravdess.zip", None)
