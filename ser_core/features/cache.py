"""On-disk feature cache keyed by clip content and feature settings.

Layout under the root folder (``$SER_CACHE_DIR`` or ``~/.cache/ser_studio``)::

    clips/<spec>/<settings>/<hh>/<content hash>.npz    one array per clip
    corpus/<spec>/<settings>/<listing hash>.npz        one stacked array per clip listing
    hashes.json                                        (path, size, mtime_ns) or (URL, size, ETag) -> content hash

A clip is identified by the blake2b hash of its bytes, so renaming or copying a file
reuses its entry, while editing it (or changing a feature or preprocessing setting)
misses only that entry. The consolidated per-listing array, keyed by the ordered list of
content hashes, makes a warm load of a whole corpus a single ``np.load``. Content hashes
are memoised by (path, size, mtime_ns) so a warm load does not re-read every file; a
file whose size or modification time changed is hashed again.

Every write goes to a temporary file in the same folder and is moved into place with
``os.replace``, so readers never see half-written arrays. Every entry carries a checksum
of its dtype, shape and bytes: an entry that was truncated, overwritten or damaged on
disk (even under an intact header) is discarded with a :class:`CacheWarning` naming the
file, and recomputed; so is an entry whose shape is not the one the caller expects.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ser_core.storage import is_url, read_url, url_signature

_HASH_BYTES = 20
_READ_BLOCK = 1 << 20
_SUFFIX = ".npz"


class CacheWarning(UserWarning):
    """A cache entry was damaged or of the wrong shape; it was discarded and will be recomputed."""


def default_cache_dir() -> Path:
    """Return ``$SER_CACHE_DIR`` if set, else ``~/.cache/ser_studio``."""
    env = os.environ.get("SER_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ser_studio"


def hash_bytes(data: bytes) -> str:
    """Return the hex blake2b digest (160 bit) of some bytes."""
    return hashlib.blake2b(data, digest_size=_HASH_BYTES).hexdigest()


def hash_file(path: str | os.PathLike) -> str:
    """Return the hex blake2b digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.blake2b(digest_size=_HASH_BYTES)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _slug(text: str) -> str:
    """A file-name-safe rendering of a key; a digest is appended when characters were replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80]
    return safe if safe == text else f"{safe}-{hash_bytes(text.encode())[:10]}"


def array_digest(array: np.ndarray) -> str:
    """Checksum of an array's dtype, shape and bytes (blake2b, 160 bit)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.blake2b(digest_size=_HASH_BYTES)
    digest.update(f"{array.dtype.str}|{array.shape}|".encode())
    digest.update(array.data if array.size else b"")
    return digest.hexdigest()


def _atomic_save(path: Path, array: np.ndarray) -> None:
    """Save an array with its checksum (``.npz``) through a temporary file and os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.ascontiguousarray(array)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, array=array, digest=np.array(array_digest(array)))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _discard(path: Path, why: str) -> None:
    """Warn that a cache entry is unusable, naming the file, and remove it."""
    warnings.warn(f"discarded cache entry {path}: {why}; it will be recomputed", CacheWarning, stacklevel=3)
    try:
        path.unlink()
    except OSError:
        pass


def _load(path: Path, *, shape: tuple | None = None) -> np.ndarray | None:
    """Load a cached array after checking its checksum (and shape); a missing file is a silent miss."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as entry:
            array, digest = entry["array"], str(entry["digest"])
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        _discard(path, f"unreadable ({type(error).__name__}: {error})")
        return None
    if array_digest(array) != digest:
        _discard(path, "its bytes do not match its checksum")
        return None
    if shape is not None and tuple(array.shape) != tuple(shape):
        _discard(path, f"it holds shape {tuple(array.shape)}, expected {tuple(shape)}")
        return None
    return array


class FeatureCache:
    """Feature arrays on disk, one per (clip content, feature spec, preprocessing settings).

    Parameters
    ----------
    root : path or None
        Cache folder; None means :func:`default_cache_dir` at construction time.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        self._hashes: dict[str, list] | None = None
        self._hashes_dirty = False

    def __repr__(self) -> str:
        return f"FeatureCache(root={str(self.root)!r})"

    # -- content hashes -------------------------------------------------

    @property
    def _hashes_path(self) -> Path:
        return self.root / "hashes.json"

    def _read_hash_memo(self) -> dict[str, list]:
        try:
            data = json.loads(self._hashes_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def content_hash(self, path: str | os.PathLike) -> str:
        """Return the blake2b hash of a file's bytes, memoised by (path, size, mtime_ns).

        A URL (:mod:`ser_core.storage`) is memoised by (URL, size, the store's ETag or
        modification time) and read once through fsspec to hash it.
        """
        if self._hashes is None:
            self._hashes = self._read_hash_memo()
        if is_url(path):
            return self._url_hash(path)
        real = os.path.realpath(path)
        stat = os.stat(real)
        known = self._hashes.get(real)
        if known is not None and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return known[2]
        digest = hash_file(real)
        self._hashes[real] = [stat.st_size, stat.st_mtime_ns, digest]
        self._hashes_dirty = True
        return digest

    def _url_hash(self, url: str) -> str:
        signature = url_signature(url)
        if signature is None:
            raise FileNotFoundError(f"no object at '{url}'")
        known = self._hashes.get(url)
        if known is not None and known[:2] == list(signature):
            return known[2]
        digest = hash_bytes(read_url(url))
        self._hashes[url] = [*signature, digest]
        self._hashes_dirty = True
        return digest

    def save_hashes(self) -> None:
        """Persist newly computed content hashes (merged with what other processes wrote)."""
        if not self._hashes_dirty or self._hashes is None:
            return
        merged = self._read_hash_memo()
        merged.update(self._hashes)
        _atomic_write_text(self._hashes_path, json.dumps(merged, separators=(",", ":")))
        self._hashes = merged
        self._hashes_dirty = False

    # -- per-clip entries -----------------------------------------------

    def clip_path(self, content_hash: str, *, spec_key: str, settings_key: str) -> Path:
        """Where the array for one clip lives."""
        return self.root / "clips" / _slug(spec_key) / _slug(settings_key) / content_hash[:2] / f"{content_hash}{_SUFFIX}"

    def load(self, content_hash: str, *, spec_key: str, settings_key: str, shape: tuple | None = None) -> np.ndarray | None:
        """Return the cached array of one clip, or None on a miss (a damaged or wrong-shaped entry is discarded)."""
        return _load(self.clip_path(content_hash, spec_key=spec_key, settings_key=settings_key), shape=shape)

    def save(self, content_hash: str, array: np.ndarray, *, spec_key: str, settings_key: str) -> Path:
        """Store the array of one clip atomically and return its path."""
        path = self.clip_path(content_hash, spec_key=spec_key, settings_key=settings_key)
        _atomic_save(path, array)
        return path

    # -- consolidated corpus arrays ---------------------------------------

    def corpus_path(self, content_hashes: list[str], *, spec_key: str, settings_key: str) -> Path:
        """Where the stacked array of an ordered clip listing lives."""
        listing = hash_bytes("\n".join(content_hashes).encode())
        return self.root / "corpus" / _slug(spec_key) / _slug(settings_key) / f"{listing}{_SUFFIX}"

    def load_corpus(self, content_hashes: list[str], *, spec_key: str, settings_key: str,
                    shape: tuple | None = None) -> np.ndarray | None:
        """Return the stacked array for this exact listing, or None on a miss (damaged entries are discarded)."""
        expected = None if shape is None else (len(content_hashes), *shape)
        array = _load(self.corpus_path(content_hashes, spec_key=spec_key, settings_key=settings_key), shape=expected)
        if array is not None and len(array) != len(content_hashes):
            return None
        return array

    def save_corpus(self, content_hashes: list[str], array: np.ndarray, *, spec_key: str, settings_key: str) -> Path:
        """Store the stacked array for an ordered listing atomically."""
        path = self.corpus_path(content_hashes, spec_key=spec_key, settings_key=settings_key)
        _atomic_save(path, array)
        return path

    def size_bytes(self) -> int:
        """Total size of the cache folder in bytes."""
        if not self.root.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def clear(self) -> None:
        """Delete every cached array and the hash memo."""
        import shutil

        if self.root.is_dir():
            shutil.rmtree(self.root)
        self._hashes = None
        self._hashes_dirty = False
