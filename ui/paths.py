"""Where the dashboard looks for data, models and scratch space."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

#: The repository root (the folder holding app.py).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: The environment variable that names the corpus folder (or zip) the app opens with.
DATA_ENV = "SER_DATA_DIR"

#: The development copy of RAVDESS beside the repository, used when SER_DATA_DIR is unset.
DEV_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "ravdess-16k"


def default_data_dir() -> Path | None:
    """``$SER_DATA_DIR`` when set, else the development corpus beside the repo if present."""
    configured = os.environ.get(DATA_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return DEV_DATA_DIR if DEV_DATA_DIR.is_dir() else None


def artifacts_root() -> Path:
    """The folder of trained models (``$SER_ARTIFACTS_DIR`` or ``artifacts/`` in the repo)."""
    from ser_core.artifacts import artifacts_root as root

    return root()


def runs_root() -> Path:
    """Scratch folder for background training jobs (``$SER_RUNS_DIR`` or ``runs/``)."""
    configured = os.environ.get("SER_RUNS_DIR", "").strip()
    return Path(configured).expanduser() if configured else REPO_ROOT / "runs"


def downloads_root() -> Path:
    """Where the official RAVDESS download goes (``$SER_DOWNLOAD_DIR`` or ``~/ser_studio_data/ravdess``)."""
    configured = os.environ.get("SER_DOWNLOAD_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / "ser_studio_data" / "ravdess"


def save_upload(content: bytes, *, name: str) -> Path:
    """Write uploaded bytes once to a content-addressed temp file and return its path."""
    digest = hashlib.sha256(content).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "ser_studio_uploads" / digest
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(name).name
    if not path.exists() or path.stat().st_size != len(content):
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(content)
        partial.replace(path)
    return path


def ravdess_source() -> tuple[str, int | None]:
    """The RAVDESS archive URL (``$SER_RAVDESS_URL`` names a mirror) and the clip count to verify.

    The official archive must hold all 1,440 speech clips; a mirror is only checked for
    zip integrity, since it may be a subset.
    """
    from ser_core.download import RAVDESS_CLIPS, RAVDESS_URL

    mirror = os.environ.get("SER_RAVDESS_URL", "").strip()
    return (mirror, None) if mirror else (RAVDESS_URL, RAVDESS_CLIPS)
