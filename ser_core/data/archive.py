"""Corpus zips, unpacked safely: caps checked before anything is written, nothing half-done left behind.

A zip is read as a listing first: more entries, more uncompressed bytes or a higher
compression ratio than :class:`ZipLimits` allows is refused before a byte is written,
with a message that names the cap and the setting that raises it. Entries are then
copied one by one into a hidden staging folder, counting the bytes actually written (a
listing can lie), only as regular files under the staging folder (no absolute paths,
no ``..``, no links). The finished folder is renamed into place; a failure removes the
staging folder, and :func:`remove_stale_staging` removes those of crashed processes.
Unpacked corpora are kept in a cache bounded by ``$SER_CORPUS_CACHE_BYTES``: the least
recently used ones go first.

Examples
--------
>>> folder = unpack_zip("Audio_Speech_Actors_01-24.zip")  # doctest: +SKIP
>>> folder.name  # doctest: +SKIP
'Audio_Speech_Actors_01-24-3f2a...'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ser_core.errors import CorpusError

GIB = 1024**3
_COPY_BLOCK = 1 << 20
STAGING_PREFIX = ".unpacking-"
DONE_SUFFIX = ".complete"


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise CorpusError(f"${name} is not a number; expected a positive number") from None
    if value <= 0:
        raise CorpusError(f"${name} is not a positive number; expected one above 0")
    return value


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what one zip may unpack to (settings in parentheses).

    Parameters
    ----------
    max_total_bytes : int
        Uncompressed size of all entries together (``SER_ZIP_MAX_BYTES``, default 4 GiB;
        the RAVDESS speech zip unpacks to about 215 MB).
    max_entries : int
        Number of entries (``SER_ZIP_MAX_ENTRIES``, default 20,000; RAVDESS has 1,464).
    max_ratio : float
        Uncompressed / compressed size, per entry over 1 MiB and overall
        (``SER_ZIP_MAX_RATIO``, default 100; audio compresses less than 2:1, a zip bomb
        thousands to one).
    """

    max_total_bytes: int = 4 * GIB
    max_entries: int = 20_000
    max_ratio: float = 100.0
    #: Messages name the setting that raises a cap (off where visitors, not operators, read them).
    operator_hints: bool = True

    def hint(self, setting: str) -> str:
        """`` (raise SETTING to allow more)`` for an operator, nothing for a visitor."""
        return f" (raise {setting} to allow more)" if self.operator_hints else ""

    @classmethod
    def from_env(cls) -> "ZipLimits":
        """The limits with any ``SER_ZIP_*`` environment settings applied."""
        return cls(
            max_total_bytes=int(_env_number("SER_ZIP_MAX_BYTES", cls.max_total_bytes)),
            max_entries=int(_env_number("SER_ZIP_MAX_ENTRIES", cls.max_entries)),
            max_ratio=_env_number("SER_ZIP_MAX_RATIO", cls.max_ratio),
        )


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.2f} GiB" if n_bytes >= GIB / 10 else f"{n_bytes / 1e6:.1f} MB"


def _safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path an entry may be written to, or None for an entry that must be skipped."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts):
        return None
    if ":" in path.parts[0]:  # a Windows drive letter
        return None
    return path


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def left_out_entries(archive: zipfile.ZipFile) -> list[str]:
    """The file entries unpacking skips: absolute paths, ``..`` parts, drive letters and links."""
    return [info.filename for info in archive.infolist()
            if not info.is_dir() and (_is_link(info) or _safe_member_path(info.filename) is None)]


def check_listing(archive: zipfile.ZipFile, *, name: str, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The entries to unpack (regular files with safe names); CorpusError when the listing breaks a cap."""
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise CorpusError(f"{name} holds {len(entries):,} entries; at most {limits.max_entries:,} are unpacked"
                          + limits.hint("SER_ZIP_MAX_ENTRIES"))
    files = [info for info in entries if not info.is_dir() and not _is_link(info) and _safe_member_path(info.filename)]
    total = sum(info.file_size for info in files)
    if total > limits.max_total_bytes:
        raise CorpusError(f"{name} would unpack to {_gib(total)}; at most {_gib(limits.max_total_bytes)} is allowed"
                          + limits.hint("SER_ZIP_MAX_BYTES"))
    compressed = sum(info.compress_size for info in files)
    for info in files:
        if info.file_size > _COPY_BLOCK and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise CorpusError(
                f"{name}: entry {info.filename} expands {info.file_size / max(info.compress_size, 1):,.0f} times "
                f"({_gib(info.compress_size)} to {_gib(info.file_size)}); at most {limits.max_ratio:g} times is "
                "allowed, as a zip bomb expands far more than audio" + limits.hint("SER_ZIP_MAX_RATIO"))
    if total > _COPY_BLOCK and total > limits.max_ratio * max(compressed, 1):
        raise CorpusError(f"{name} expands {total / max(compressed, 1):,.0f} times overall; at most "
                          f"{limits.max_ratio:g} times is allowed" + limits.hint("SER_ZIP_MAX_RATIO"))
    return files


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: list[int], *, name: str,
                 limits: ZipLimits) -> None:
    """Copy one entry, stopping as soon as it outgrows its declared size or the whole budget."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(info) as source, open(target, "wb") as sink:
        while block := source.read(_COPY_BLOCK):
            written += len(block)
            budget[0] -= len(block)
            if written > info.file_size or budget[0] < 0:
                raise CorpusError(f"{name}: entry {info.filename} unpacks to more bytes than its listing says; "
                                  f"stopped (at most {_gib(limits.max_total_bytes)} in all)"
                                  + limits.hint("SER_ZIP_MAX_BYTES"))
            sink.write(block)


def unpack_into(zip_path, folder, *, limits: ZipLimits | None = None, name: str | None = None) -> Path:
    """Unpack ``zip_path`` into the new folder ``folder`` (built beside it, renamed into place at the end).

    ``name``: what messages call the archive (e.g. the file name a visitor uploaded); default its file name.
    """
    zip_path, folder = Path(zip_path), Path(folder)
    limits = limits or ZipLimits.from_env()
    name = name or zip_path.name
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f"{STAGING_PREFIX}{os.getpid()}-{hashlib.sha1(str(folder).encode()).hexdigest()[:8]}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            files = check_listing(archive, name=name, limits=limits)
            staging.mkdir()
            budget = [limits.max_total_bytes]
            for info in files:
                _copy_member(archive, info, staging / _safe_member_path(info.filename), budget, name=name,
                             limits=limits)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    except zipfile.BadZipFile as error:
        raise CorpusError(f"{name} is not a readable zip archive ({error})") from None
    except OSError as error:
        raise CorpusError(f"cannot unpack {name}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _cache_key(zip_path: Path) -> str:
    stat_result = zip_path.stat()
    text = f"{zip_path.resolve()}|{stat_result.st_size}|{stat_result.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(root) -> list[Path]:
    """Remove ``.unpacking-*`` folders under ``root`` left by processes that no longer run."""
    root = Path(root)
    removed = []
    if not root.is_dir():
        return removed
    for path in root.glob(f"{STAGING_PREFIX}*"):
        pid = path.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not _pid_alive(int(pid)) or time.time() - path.stat().st_mtime > 24 * 3600:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def evict_least_recently_used(root, *, keep_bytes: float, protect: Path | None = None) -> list[Path]:
    """Delete unpacked corpora under ``root``, least recently used first, until they fit in ``keep_bytes``."""
    root = Path(root)
    if not root.is_dir():
        return []
    corpora = []
    for marker in root.glob(f"*{DONE_SUFFIX}"):
        folder = marker.with_name(marker.name[: -len(DONE_SUFFIX)])
        if folder.is_dir() and folder != protect:
            corpora.append((marker.stat().st_mtime, folder, marker, _folder_bytes(folder)))
    total = sum(size for *_, size in corpora) + (_folder_bytes(protect) if protect and protect.is_dir() else 0)
    removed = []
    for _, folder, marker, size in sorted(corpora):
        if total <= keep_bytes:
            break
        marker.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        removed.append(folder)
    return removed


def unpack_zip(zip_path, *, cache_root=None, limits: ZipLimits | None = None) -> Path:
    """Unpack a corpus zip once into the corpus cache and return the folder.

    The folder is reused while the zip is unchanged (path, size and modification time),
    and marked as recently used; the cache is then trimmed to ``$SER_CORPUS_CACHE_BYTES``
    (default 8 GiB), least recently used first.
    """
    from ser_core.features.cache import default_cache_dir

    zip_path = Path(zip_path)
    root = Path(cache_root) if cache_root is not None else default_cache_dir() / "corpora"
    remove_stale_staging(root)
    target = root / f"{zip_path.stem}-{_cache_key(zip_path)}"
    marker = target.with_name(target.name + DONE_SUFFIX)  # beside, not inside, the corpus
    if not (marker.is_file() and target.is_dir()):
        unpack_into(zip_path, target, limits=limits)
        marker.write_text(str(zip_path.resolve()))
    os.utime(marker)
    evict_least_recently_used(root, keep_bytes=_env_number("SER_CORPUS_CACHE_BYTES", 8 * GIB), protect=target)
    return target
