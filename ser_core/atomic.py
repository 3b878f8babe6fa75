"""Writes that survive a crash at any instant: files, and whole folders replaced in one step.

* :func:`write_text` / :func:`write_json`: write a temporary file beside the target,
  fsync it, ``os.replace`` it over the target, fsync the folder.
* :func:`replace_folder`: put a complete staging folder where a folder is. On Linux the
  two are exchanged with one ``renameat2(RENAME_EXCHANGE)`` call, so at every instant
  the path holds either the old complete folder or the new one; elsewhere the old folder
  is renamed aside first and :func:`recover_folder` puts it back if the process died in
  between. What is left beside (the old folder after an exchange, an interrupted
  staging folder) is removed by :func:`remove_leftovers` on the next start.
* :func:`checkpoint`: test-only crash points. With ``SER_CRASH_AT=<name>`` in the
  environment the process dies (``os._exit(137)``, like ``kill -9``) when it reaches the
  checkpoint of that name, so tests can prove every step leaves a loadable model.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

#: Environment variable naming the checkpoint at which to crash (tests only).
CRASH_ENV = "SER_CRASH_AT"
#: Markers in the names of folders that sit beside the real ones while a save is under way.
STAGING_MARK = ".partial-"
RETIRED_MARK = ".old-"
#: A leftover older than this is removed even if its owner's process id is alive again.
LEFTOVER_AGE_S = 6 * 3600


def checkpoint(name: str) -> None:
    """Die here, as ``kill -9`` would, when ``$SER_CRASH_AT`` names this checkpoint (tests only)."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a synced temporary file and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        checkpoint(f"write:{path.name}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)
    return path


def write_text(path, text: str) -> Path:
    """Write UTF-8 text atomically (see :func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, data, *, default=None) -> Path:
    """Write indented JSON atomically."""
    return write_text(path, json.dumps(data, indent=2, default=default) + "\n")


def staging_folder(folder: Path) -> Path:
    """A new, empty hidden folder beside ``folder`` to build its replacement in."""
    staging = folder.parent / f".{folder.name}{STAGING_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    return staging


def _renameat2_exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one system call (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return result == 0


def replace_folder(staging: Path, folder: Path) -> None:
    """Make the complete folder ``staging`` appear at ``folder``, replacing what is there.

    At every instant ``folder`` holds the old complete folder or the new one (Linux), or,
    elsewhere, :func:`recover_folder` can restore the old one after a crash.
    """
    checkpoint("before-swap")
    if not folder.exists():
        os.replace(staging, folder)
        _fsync_folder(folder.parent)
        checkpoint("after-swap")
        return
    if _renameat2_exchange(staging, folder):
        _fsync_folder(folder.parent)
        checkpoint("after-swap")
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old folder
        return
    retired = folder.parent / f".{folder.name}{RETIRED_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.replace(folder, retired)
    checkpoint("between-renames")
    os.replace(staging, folder)
    _fsync_folder(folder.parent)
    checkpoint("after-swap")
    shutil.rmtree(retired, ignore_errors=True)


def recover_folder(folder: Path) -> bool:
    """Put back the newest retired copy of a missing ``folder`` (a crash between two renames); True if done."""
    folder = Path(folder)
    if folder.exists() or not folder.parent.is_dir():
        return False
    retired = sorted(folder.parent.glob(f".{folder.name}{RETIRED_MARK}*"), key=lambda p: p.stat().st_mtime)
    if not retired:
        return False
    try:
        os.replace(retired[-1], folder)
    except OSError:
        return False
    return True


def _owner_alive(leftover: Path) -> bool:
    """Whether the process that made a leftover (its pid is in the name) still runs."""
    tail = leftover.name.rsplit(STAGING_MARK if STAGING_MARK in leftover.name else RETIRED_MARK, 1)[-1]
    pid = tail.split("-", 1)[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(root) -> list[Path]:
    """Remove staging and retired folders under ``root`` whose save is over; return what was removed.

    A leftover whose owning process still runs is kept (its save may be under way),
    unless it is older than :data:`LEFTOVER_AGE_S`. A retired folder whose real folder
    is missing is first put back (:func:`recover_folder`).
    """
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for path in sorted(root.iterdir()):
        if not path.name.startswith(".") or not (STAGING_MARK in path.name or RETIRED_MARK in path.name):
            continue
        if RETIRED_MARK in path.name:
            real = root / path.name[1:].split(RETIRED_MARK, 1)[0]
            if recover_folder(real):
                continue
        try:
            age_s = time.time() - path.stat().st_mtime
        except OSError:
            continue
        if _owner_alive(path) and age_s < LEFTOVER_AGE_S:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def json_default(value):
    """Convert NumPy scalars and arrays, paths and tuples for ``json.dumps`` (:func:`write_json`'s ``default``)."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
