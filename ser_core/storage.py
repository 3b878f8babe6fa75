"""Where clips live: local paths, or URLs that ``fsspec`` opens (``s3://``, ``gs://``, ``https://``, ``file://``).

On a Dask cluster the workers read the clips themselves, so a corpus must be at a path
every worker can open (a shared filesystem mounted at the same place) or at URLs
(object storage). A URL is any string that starts with ``scheme://``; reading one needs
``fsspec`` (in requirements.txt) and, for cloud stores, its driver (``s3fs``, ``gcsfs``,
``adlfs``), with credentials from the usual environment variables.

Examples
--------
>>> is_url("s3://bucket/ravdess/03-01-05-01-01-01-01.wav"), is_url("/data/clip.wav")
(True, False)
"""

from __future__ import annotations

import os
import re

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path) -> bool:
    """True for ``scheme://...`` strings (read through fsspec), False for local paths."""
    return isinstance(path, str) and bool(_URL.match(path))


def _filesystem(url: str):
    """``(filesystem, path)`` for a URL; InputError when fsspec or the store's driver is missing."""
    from ser_core.errors import InputError

    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec is in requirements.txt
        raise InputError(f"reading '{url}' needs fsspec (pip install fsspec)") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise InputError(f"cannot read '{url}': {error}") from None


def url_signature(url: str) -> tuple[int, str] | None:
    """``(size in bytes, version marker)`` of the object at a URL, or None when there is none.

    The marker is the store's ETag, checksum or modification time, whichever it reports,
    so a changed object gets a new signature.
    """
    try:
        fs, path = _filesystem(url)
        info = fs.info(path)
    except (FileNotFoundError, OSError):
        return None
    if info.get("type") == "directory":
        return None
    marker = next((str(info[key]) for key in ("ETag", "etag", "checksum", "mtime", "LastModified", "created")
                   if info.get(key) is not None), "")
    return int(info.get("size") or 0), marker


def read_url(url: str) -> bytes:
    """The bytes of the object at a URL; OSError (FileNotFoundError) when it cannot be read."""
    fs, path = _filesystem(url)
    with fs.open(path, "rb") as handle:
        return handle.read()


def exists(path) -> bool:
    """True when a local file or a URL's object exists."""
    return url_signature(path) is not None if is_url(path) else os.path.isfile(path)
