"""Where the dashboard finds data, keeps job records and puts a visitor's uploads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ui import hosting

#: The repository root (the folder holding app.py).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: The environment variable that names the corpus folder (or zip) the app opens with.
DATA_ENV = "SER_DATA_DIR"

#: The development copy of RAVDESS beside the repository, used in local mode when SER_DATA_DIR is unset.
DEV_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "ravdess-16k"


def default_data_dir() -> Path | None:
    """``$SER_DATA_DIR`` when set; else, in local mode only, the development corpus beside the repo if present."""
    configured = os.environ.get(DATA_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    if hosting.is_public():
        return None
    return DEV_DATA_DIR if DEV_DATA_DIR.is_dir() else None


def runs_root() -> Path:
    """Where background training jobs keep their records (``$SER_RUNS_DIR`` or ``runs/``)."""
    configured = os.environ.get("SER_RUNS_DIR", "").strip()
    return Path(configured).expanduser() if configured else REPO_ROOT / "runs"


def downloads_root() -> Path:
    """Where the official RAVDESS download goes (``$SER_DOWNLOAD_DIR`` or ``~/ser_studio_data/ravdess``)."""
    configured = os.environ.get("SER_DOWNLOAD_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / "ser_studio_data" / "ravdess"


def unpack_upload(content: bytes, *, name: str) -> Path:
    """Unpack an uploaded corpus zip into this visitor's scratch area (within the zip limits); return the folder.

    The zip itself is written to the scratch area first (so it is read, not held in
    memory twice) and removed once unpacked; the same upload is unpacked only once.
    """
    from ser_core.data.archive import unpack_into

    digest = hashlib.sha256(content).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).stem)[:40] or "corpus"
    folder = hosting.scratch_dir("corpora") / f"{stem}-{digest}"
    if folder.is_dir():
        return folder
    archive = hosting.scratch_dir("uploads") / f"{digest}.zip"
    archive.write_bytes(content)
    try:
        return unpack_into(archive, folder, limits=hosting.zip_limits(), name=Path(name).name)
    finally:
        archive.unlink(missing_ok=True)


def zip_left_out(content: bytes) -> list[str]:
    """The entries of an uploaded zip that unpacking skips (absolute paths, ``..``, links); none for a broken zip."""
    import io
    import zipfile

    from ser_core.data.archive import left_out_entries

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return left_out_entries(archive)
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def ravdess_source() -> tuple[str, int | None]:
    """The RAVDESS archive URL (``$SER_RAVDESS_URL`` names a mirror) and the clip count to verify.

    The official archive must hold all 1,440 speech clips; a mirror is only checked for
    zip integrity, since it may be a subset.
    """
    from ser_core.data.download import RAVDESS_CLIPS, RAVDESS_URL

    mirror = os.environ.get("SER_RAVDESS_URL", "").strip()
    return (mirror, None) if mirror else (RAVDESS_URL, RAVDESS_CLIPS)
