"""ser_core.data.archive: corpus zips unpacked within caps, atomically, in a bounded cache."""

import os
import zipfile

import pytest

from ser_core.data.archive import (DONE_SUFFIX, STAGING_PREFIX, ZipLimits, evict_least_recently_used,
                                   remove_stale_staging, unpack_into, unpack_zip)
from ser_core.errors import CorpusError


def _zip(path, entries, *, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(("entries", "limits", "match"), [
    ({f"f{i}.wav": b"x" for i in range(6)}, ZipLimits(max_entries=5), "6 entries; at most 5.*SER_ZIP_MAX_ENTRIES"),
    ({"a.wav": os.urandom(3000)}, ZipLimits(max_total_bytes=2000), "unpack to .*SER_ZIP_MAX_BYTES"),
    ({"zeros.wav": b"\0" * (8 << 20)}, ZipLimits(), "expands .* times.*SER_ZIP_MAX_RATIO"),
])
def test_caps_are_checked_before_anything_is_written(tmp_path, entries, limits, match):
    archive = _zip(tmp_path / "in.zip", entries)
    with pytest.raises(CorpusError, match=match):
        unpack_into(archive, tmp_path / "out", limits=limits)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(f"{STAGING_PREFIX}*"))


def test_unsafe_names_and_links_are_not_unpacked(tmp_path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Actor_01/ok.wav", b"ok")
        zf.writestr("../../escape.wav", b"no")
        zf.writestr("/abs.wav", b"no")
        link = zipfile.ZipInfo("Actor_01/link.wav")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    out = unpack_into(archive, tmp_path / "out", limits=ZipLimits())
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["Actor_01/ok.wav"]
    assert not (tmp_path.parent / "escape.wav").exists()


def test_a_listing_that_lies_about_sizes_is_stopped_while_unpacking(tmp_path):
    archive = _zip(tmp_path / "in.zip", {"a.wav": b"y" * 5000}, compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    # shrink the declared size in the central directory (offset 24 of its header) to 10 bytes
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(CorpusError):
        unpack_into(archive, tmp_path / "out", limits=ZipLimits())
    assert not (tmp_path / "out").exists()


def test_not_a_zip_and_stale_staging(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(CorpusError, match="not a readable zip"):
        unpack_into(tmp_path / "bad.zip", tmp_path / "out")
    stale = tmp_path / f"{STAGING_PREFIX}999999-deadbeef"
    stale.mkdir()
    mine = tmp_path / f"{STAGING_PREFIX}{os.getpid()}-cafe"
    mine.mkdir()
    assert remove_stale_staging(tmp_path) == [stale] and mine.exists()


def test_the_unpacked_cache_is_reused_and_bounded(tmp_path, monkeypatch):
    root = tmp_path / "corpora"
    first = unpack_zip(_zip(tmp_path / "one.zip", {"a.wav": os.urandom(4000)}), cache_root=root)
    assert unpack_zip(tmp_path / "one.zip", cache_root=root) == first
    old = first.with_name(first.name + DONE_SUFFIX)
    os.utime(old, (1, 1))  # least recently used
    monkeypatch.setenv("SER_CORPUS_CACHE_BYTES", "6000")
    second = unpack_zip(_zip(tmp_path / "two.zip", {"b.wav": os.urandom(4000)}), cache_root=root)
    assert second.is_dir() and not first.exists()
    assert evict_least_recently_used(root, keep_bytes=10**9) == []


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SER_ZIP_MAX_BYTES", "123")
    monkeypatch.setenv("SER_ZIP_MAX_RATIO", "7")
    assert (ZipLimits.from_env().max_total_bytes, ZipLimits.from_env().max_ratio) == (123, 7.0)
    monkeypatch.setenv("SER_ZIP_MAX_ENTRIES", "lots-of-secret")
    with pytest.raises(CorpusError, match="SER_ZIP_MAX_ENTRIES") as error:
        ZipLimits.from_env()
    assert "secret" not in str(error.value)  # a setting's value is never repeated to a visitor


def test_index_of_a_zip_bomb_fails_cleanly(tmp_path):
    from ser_core.data.index import index_corpus

    archive = _zip(tmp_path / "bomb.zip", {"Actor_01/03-01-01-01-01-01-01.wav": b"\0" * (16 << 20)})
    with pytest.raises(CorpusError, match="expands"):
        index_corpus(archive)
    assert not any(p.is_file() for p in (tmp_path.parent).glob("ser-cache/corpora/**/*"))
