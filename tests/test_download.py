"""Tests for ser_core.data.download against a small RAVDESS-like zip served on 127.0.0.1."""

import time
import zipfile

import pytest

from ser_core.data.download import RAVDESS_URL, download_ravdess
from ser_core.data.index import index_corpus, summarize
from ser_core.errors import DownloadError, OfflineError

NAMES = [
    "Actor_01/03-01-01-01-01-01-01.wav",
    "Actor_01/03-01-05-02-01-01-01.wav",
    "Actor_02/03-01-03-01-02-01-02.wav",
    "Actor_02/03-01-08-02-02-02-02.wav",
    "Actor_02/03-02-03-01-02-01-02.wav",  # a song clip: not counted as a speech clip
]
N_SPEECH = 4


@pytest.fixture
def served_zip(tmp_path, http_file_server, make_ravdess_zip):
    """The server with ``ravdess.zip`` (4 speech clips + 1 song clip, several read chunks) on it."""
    (tmp_path / "source").mkdir()
    archive = make_ravdess_zip(tmp_path / "source" / "ravdess.zip", NAMES, duration_s=2.0)  # ~320 KB
    http_file_server.files["ravdess.zip"] = archive.read_bytes()
    return http_file_server


def test_official_url_is_the_zenodo_record():
    assert RAVDESS_URL.startswith("https://zenodo.org/records/1188976/files/Audio_Speech_Actors_01-24.zip")


def test_download_verifies_and_unpacks(tmp_path, served_zip):
    calls = []
    dest = tmp_path / "data" / "ravdess"
    folder = download_ravdess(dest, url=served_zip.url("ravdess.zip"), expected_clips=N_SPEECH,
                              progress=lambda done, total: calls.append((done, total)))
    assert folder == dest
    size = len(served_zip.files["ravdess.zip"])
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.wav")) == sorted(NAMES)
    assert not list(dest.glob("*.zip*"))  # archive removed after unpacking
    summary = summarize(index_corpus(folder))
    assert (summary["n_clips"], summary["n_speakers"]) == (N_SPEECH, 2)


def test_finished_download_is_not_fetched_again(tmp_path, served_zip):
    url = served_zip.url("ravdess.zip")
    download_ravdess(tmp_path, url=url, expected_clips=N_SPEECH)
    n_requests = len(served_zip.requests)
    assert download_ravdess(tmp_path, url=url, expected_clips=N_SPEECH) == tmp_path
    assert len(served_zip.requests) == n_requests


def test_keep_zip_keeps_the_verified_archive(tmp_path, served_zip):
    download_ravdess(tmp_path, url=served_zip.url("ravdess.zip"), expected_clips=N_SPEECH, keep_zip=True)
    assert zipfile.is_zipfile(tmp_path / "Audio_Speech_Actors_01-24.zip")


def test_interrupted_download_resumes_with_a_range_request(tmp_path, served_zip):
    url = served_zip.url("ravdess.zip")
    size = len(served_zip.files["ravdess.zip"])
    served_zip.truncate_once.add("ravdess.zip")
    with pytest.raises(DownloadError, match="run it again to resume"):
        download_ravdess(tmp_path, url=url, expected_clips=N_SPEECH)
    part = tmp_path / "Audio_Speech_Actors_01-24.zip.part"
    kept = part.stat().st_size
    assert 0 < kept < size
    calls = []
    download_ravdess(tmp_path, url=url, expected_clips=N_SPEECH, progress=lambda d, t: calls.append((d, t)))
    assert served_zip.requests[-1] == ("ravdess.zip", f"bytes={kept}-")
    assert calls[0] == (kept, size) and calls[-1] == (size, size)
    assert len(list(tmp_path.rglob("03-01-*.wav"))) == N_SPEECH


def test_server_ignoring_range_restarts_cleanly(tmp_path, served_zip):
    url = served_zip.url("ravdess.zip")
    (tmp_path / "Audio_Speech_Actors_01-24.zip.part").write_bytes(b"stale bytes from elsewhere")
    served_zip.honor_range = False
    download_ravdess(tmp_path, url=url, expected_clips=N_SPEECH)
    assert served_zip.requests[-1][1] is not None  # it asked to resume, got the whole file
    assert len(list(tmp_path.rglob("03-01-*.wav"))) == N_SPEECH


def test_complete_part_file_answered_416_is_verified(tmp_path, served_zip):
    (tmp_path / "Audio_Speech_Actors_01-24.zip.part").write_bytes(served_zip.files["ravdess.zip"])
    download_ravdess(tmp_path, url=served_zip.url("ravdess.zip"), expected_clips=N_SPEECH)
    assert len(list(tmp_path.rglob("03-01-*.wav"))) == N_SPEECH


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/ravdess.zip", "http://host.invalid/ravdess.zip"])
def test_unreachable_server_raises_offline_error_fast(tmp_path, url):
    start = time.perf_counter()
    with pytest.raises(OfflineError, match="by hand") as caught:
        download_ravdess(tmp_path, url=url)
    assert time.perf_counter() - start < 10
    assert "index" in str(caught.value)  # tells the user how to point the app at a manual download
    assert isinstance(caught.value, DownloadError)


def _corrupt_crc(data: bytes) -> bytes:
    """Flip one byte inside the first stored member's data, leaving the headers intact."""
    damaged = bytearray(data)
    damaged[200] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize(
    "make_bytes, message",
    [
        (lambda good: b"<html>not a zip</html>" * 100, "not a valid zip archive"),
        (_corrupt_crc, "corrupt"),
        (lambda good: good[: len(good) // 2], "not a valid zip archive"),
    ],
    ids=["html", "bad-crc", "half"],
)
def test_corrupt_archive_raises_and_is_deleted(tmp_path, served_zip, make_bytes, message):
    served_zip.files["bad.zip"] = make_bytes(served_zip.files["ravdess.zip"])
    with pytest.raises(DownloadError, match=message):
        download_ravdess(tmp_path, url=served_zip.url("bad.zip"), expected_clips=N_SPEECH)
    assert not list(tmp_path.glob("*.zip*"))  # a rerun starts from scratch
    assert not list(tmp_path.rglob("*.wav"))


def test_wrong_clip_count_raises(tmp_path, served_zip):
    with pytest.raises(DownloadError, match="holds 4 RAVDESS speech clips but 1440 are expected"):
        download_ravdess(tmp_path, url=served_zip.url("ravdess.zip"))
    assert not list(tmp_path.rglob("*.wav"))


def test_http_error_status_raises(tmp_path, served_zip):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_ravdess(tmp_path, url=served_zip.url("missing.zip"))
