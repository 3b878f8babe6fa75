"""Fetch RAVDESS speech from its official Zenodo record: resumable, verified, unpacked."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from ser_core.errors import DownloadError, OfflineError

#: The official RAVDESS speech archive (Zenodo record 1188976, about 208 MB).
RAVDESS_URL = "https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip?download=1"

#: Name of the archive on disk while it is downloaded and verified.
RAVDESS_ZIP_NAME = "Audio_Speech_Actors_01-24.zip"

#: Number of speech clips in the complete release (24 actors x 60).
RAVDESS_CLIPS = 1440

_CHUNK_BYTES = 1 << 16  # small reads: an interrupted read loses at most this much
_MARKER_NAME = ".ravdess-download-complete"
_SPEECH_CLIP_RE = re.compile(r"(?:^|/)03-01-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.wav$")

ProgressCallback = Callable[[int, "int | None"], None]


def download_ravdess(
    dest_dir,
    *,
    url: str = RAVDESS_URL,
    expected_clips: int | None = RAVDESS_CLIPS,
    progress: ProgressCallback | None = None,
    connect_timeout_s: float = 5.0,
    timeout_s: float = 60.0,
    keep_zip: bool = False,
) -> Path:
    """Download, verify and unpack the RAVDESS speech archive into ``dest_dir``.

    An interrupted download leaves ``<zip>.part`` behind and the next call resumes it
    with an HTTP Range request. A folder already unpacked by an earlier call is
    returned at once.

    Parameters
    ----------
    dest_dir : str or Path
        Folder that receives ``Actor_01`` .. ``Actor_24`` (created if missing).
    url : str
        Where to fetch the zip from; defaults to the Zenodo record.
    expected_clips : int or None
        Number of speech clips (``03-01-*.wav``) the archive must hold; None skips the check.
    progress : callable, optional
        Called as ``progress(done_bytes, total_bytes)``; ``total_bytes`` is None when
        the server does not say.
    connect_timeout_s, timeout_s : float
        Seconds to wait for the connection, and for each read once connected.
    keep_zip : bool
        Keep the verified zip beside the unpacked folders.

    Returns
    -------
    Path
        ``dest_dir``, holding the unpacked actor folders.
    """
    dest_dir = Path(dest_dir).expanduser()
    marker = dest_dir / _MARKER_NAME
    if marker.is_file():
        return dest_dir
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"cannot create the download folder {dest_dir}: {error}") from None
    zip_path = dest_dir / RAVDESS_ZIP_NAME
    if not zip_path.is_file():
        _fetch(url, zip_path, progress=progress, timeout=(connect_timeout_s, timeout_s))
    n_clips = _verify(zip_path, expected_clips=expected_clips)
    _unpack(zip_path, dest_dir)
    if not keep_zip:
        zip_path.unlink()
    marker.write_text(f"{n_clips} speech clips from {url}\n")
    return dest_dir


def _offline_message(url: str, reason: str) -> str:
    host = urlsplit(url).netloc or url
    return (
        f"cannot reach {host} ({reason}). Check the internet connection and run the "
        f"download again, or download {url} by hand in a browser (about 208 MB for "
        f"RAVDESS) and point the app at the zip or its unpacked folder, e.g. "
        f"`python -m ser_core index path/to/{RAVDESS_ZIP_NAME}`."
    )


def _fetch(url: str, zip_path: Path, *, progress, timeout: tuple[float, float]) -> None:
    """Stream url into zip_path via a resumable ``.part`` file."""
    import requests  # only needed when the user asks for a download

    part = zip_path.with_name(zip_path.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = requests.get(url, stream=True, headers=headers, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise OfflineError(_offline_message(url, _short_reason(error))) from None
    except requests.RequestException as error:
        raise DownloadError(f"cannot download {url}: {error}") from None
    with response:
        if response.status_code == 416 and offset:
            # The .part file already holds the whole file; verification decides.
            part.rename(zip_path)
            return
        if response.status_code not in (200, 206):
            raise DownloadError(
                f"{url} answered HTTP {response.status_code} {response.reason}; expected 200 or 206"
            )
        if response.status_code == 200:
            offset = 0  # the server ignored the Range header: start over
        total = _total_bytes(response, offset)
        _stream(response, part, offset=offset, total=total, progress=progress, url=url)
    part.rename(zip_path)


def _short_reason(error: Exception) -> str:
    text = str(error)
    for hint in ("Name or service not known", "Temporary failure in name resolution",
                 "Connection refused", "timed out", "Network is unreachable"):
        if hint in text:
            return hint.lower()
    return type(error).__name__


def _total_bytes(response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    match = re.match(r"bytes \d+-\d+/(\d+)", content_range)
    if match:
        return int(match.group(1))
    length = response.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else None


def _stream(response, part: Path, *, offset: int, total: int | None, progress, url: str) -> None:
    import requests

    done = offset
    try:
        with open(part, "ab" if offset else "wb") as handle:
            if progress is not None:
                progress(done, total)
            for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
                handle.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except (requests.RequestException, OSError) as error:
        raise DownloadError(
            f"download of {url} interrupted after {done} of {total or '?'} bytes "
            f"({type(error).__name__}); run it again to resume from {part}"
        ) from None
    if total is not None and done != total:
        raise DownloadError(
            f"download of {url} stopped after {done} of {total} bytes; run it again to resume from {part}"
        )


def _verify(zip_path: Path, *, expected_clips: int | None) -> int:
    """Check archive integrity and clip count; a bad archive is deleted so a rerun refetches."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        zip_path.unlink(missing_ok=True)
        raise DownloadError(
            f"the downloaded file is not a valid zip archive ({error}); it was deleted, run the download again"
        ) from None
    if broken is not None:
        zip_path.unlink(missing_ok=True)
        raise DownloadError(
            f"the downloaded zip is corrupt (bad CRC in {broken}); it was deleted, run the download again"
        )
    n_clips = sum(1 for name in names if _SPEECH_CLIP_RE.search(name))
    if expected_clips is not None and n_clips != expected_clips:
        zip_path.unlink(missing_ok=True)
        raise DownloadError(
            f"the downloaded zip holds {n_clips} RAVDESS speech clips but {expected_clips} are "
            f"expected; it was deleted (wrong or incomplete file?)"
        )
    return n_clips


def _unpack(zip_path: Path, dest_dir: Path) -> None:
    """Unpack within the zip limits into a staging folder, then move the actor folders into ``dest_dir``.

    A crash leaves no completion marker, so the next call unpacks again over whatever was moved.
    """
    import os
    import shutil

    from ser_core.data.archive import ZipLimits, unpack_into
    from ser_core.errors import CorpusError

    staging = dest_dir.parent / f".{dest_dir.name}.unpacked"
    try:
        unpack_into(zip_path, staging, limits=ZipLimits.from_env())
        for entry in sorted(staging.iterdir()):
            target = dest_dir / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)
    except CorpusError as error:
        raise DownloadError(f"cannot unpack the downloaded archive: {error}") from None
    except OSError as error:
        raise DownloadError(f"cannot unpack {zip_path} into {dest_dir}: {error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
