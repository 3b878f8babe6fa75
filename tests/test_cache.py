"""ser_core.features.cache: content-keyed feature arrays, atomic writes, hash memo, invalidation."""

import os
from pathlib import Path

import numpy as np
import pytest

from ser_core.features.cache import FeatureCache, default_cache_dir, hash_bytes, hash_file

KEYS = dict(spec_key="MFCC-16000-40@v1", settings_key="sr16000-top20-norm1-min0.1")


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    assert FeatureCache().root == tmp_path / "here"
    monkeypatch.delenv("SER_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "ser_studio"


def test_hashes_depend_on_content_only(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"same bytes")
    b.write_bytes(b"same bytes")
    assert hash_file(a) == hash_file(b) == hash_bytes(b"same bytes")
    assert hash_bytes(b"other bytes") != hash_bytes(b"same bytes")
    assert len(hash_file(a)) == 40


def test_miss_then_hit(tmp_path):
    cache = FeatureCache(tmp_path)
    digest = hash_bytes(b"clip")
    assert cache.load(digest, **KEYS) is None
    array = np.arange(160, dtype=np.float32)
    path = cache.save(digest, array, **KEYS)
    assert path.is_file() and path.suffix == ".npz"
    np.testing.assert_array_equal(cache.load(digest, **KEYS), array)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


@pytest.mark.parametrize(
    "changed",
    [dict(spec_key="MFCC-16000-13@v1"), dict(settings_key="sr16000-top30-norm1-min0.1"), dict(spec_key="MFCC-16000-40@v2")],
    ids=["spec", "settings", "code version"],
)
def test_other_settings_miss(tmp_path, changed):
    cache = FeatureCache(tmp_path)
    digest = hash_bytes(b"clip")
    cache.save(digest, np.ones(3), **KEYS)
    assert cache.load(digest, **{**KEYS, **changed}) is None
    assert cache.load(digest, **KEYS) is not None


def test_model_paths_in_keys_are_file_name_safe(tmp_path):
    cache = FeatureCache(tmp_path)
    keys = dict(spec_key="W2V2-mean-all:/models/my w2v2@v1", settings_key="sr16000")
    path = cache.save(hash_bytes(b"x"), np.ones(4), **keys)
    assert path.is_relative_to(tmp_path)
    other = cache.clip_path(hash_bytes(b"x"), spec_key="W2V2-mean-all:/models/my_w2v2@v1", settings_key="sr16000")
    assert other != path  # sanitising never merges two different keys


def test_corrupt_entry_is_a_miss(tmp_path):
    cache = FeatureCache(tmp_path)
    digest = hash_bytes(b"clip")
    path = cache.save(digest, np.ones(3), **KEYS)
    path.write_bytes(b"not an npy file")
    with pytest.warns(CacheWarning, match="unreadable"):
        assert cache.load(digest, **KEYS) is None
    assert not path.exists()


def test_content_hash_is_memoised_and_invalidated_by_edits(tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"version one")
    cache = FeatureCache(tmp_path / "cache")
    first = cache.content_hash(clip)
    cache.save_hashes()
    memo = tmp_path / "cache" / "hashes.json"
    assert memo.is_file()
    # a new cache object (a new session) reads the memo instead of the file
    assert FeatureCache(tmp_path / "cache").content_hash(clip) == first
    clip.write_bytes(b"version two, longer")
    os.utime(clip, ns=(1, 1))
    assert FeatureCache(tmp_path / "cache").content_hash(clip) == hash_bytes(b"version two, longer") != first


def test_memo_with_stale_stat_is_not_trusted(tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"abc")
    cache = FeatureCache(tmp_path / "cache")
    cache.content_hash(clip)
    cache.save_hashes()
    stat = clip.stat()
    clip.write_bytes(b"xyz")  # same size: only mtime tells
    os.utime(clip, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1000))
    assert FeatureCache(tmp_path / "cache").content_hash(clip) == hash_bytes(b"xyz")


def test_corpus_arrays_are_keyed_by_the_ordered_listing(tmp_path):
    cache = FeatureCache(tmp_path)
    hashes = [hash_bytes(bytes([i])) for i in range(5)]
    stacked = np.random.default_rng(0).standard_normal((5, 160)).astype(np.float32)
    assert cache.load_corpus(hashes, **KEYS) is None
    cache.save_corpus(hashes, stacked, **KEYS)
    np.testing.assert_array_equal(cache.load_corpus(hashes, **KEYS), stacked)
    assert cache.load_corpus(hashes[::-1], **KEYS) is None
    assert cache.load_corpus(hashes[:4], **KEYS) is None
    assert cache.load_corpus(hashes, **{**KEYS, "settings_key": "other"}) is None


def test_clear_and_size(tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    assert cache.size_bytes() == 0
    cache.save(hash_bytes(b"a"), np.ones(100), **KEYS)
    assert cache.size_bytes() > 800
    cache.clear()
    assert cache.size_bytes() == 0 and cache.load(hash_bytes(b"a"), **KEYS) is None


# ---------------------------------------------------------------- verified entries (corruption on disk)
import zipfile  # noqa: E402

from conftest import speechlike  # noqa: E402
from ser_core.features.cache import CacheWarning  # noqa: E402


def _corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif how == "data under a valid header":
        with zipfile.ZipFile(path) as archive:
            array_bytes = archive.read("array.npy")
        offset = data.find(array_bytes)
        noise = np.random.default_rng(1).bytes(len(array_bytes) - 128)
        data[offset + 128:offset + len(array_bytes)] = noise  # keep the .npy header, randomise the values
        path.write_bytes(bytes(data))
    elif how == "wrong shape":
        from ser_core.features.cache import _atomic_save

        _atomic_save(path, np.ones(3, dtype=np.float32))  # a valid, checksummed entry of the wrong shape


@pytest.mark.parametrize("how", ["truncated", "random bytes", "data under a valid header", "wrong shape"])
def test_a_damaged_entry_is_discarded_with_a_warning_naming_it_and_recomputed(tmp_path, wav_file, how):
    from ser_core.features import extract_corpus

    paths = [wav_file(speechlike(seed=s), name=f"c{s}.wav") for s in range(3)]
    cache = FeatureCache(tmp_path / "cache")
    clean = extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1)
    for corpus_entry in (tmp_path / "cache" / "corpus").rglob("*.npz"):
        corpus_entry.unlink()  # force the per-clip entries to be read
    entry = next((tmp_path / "cache" / "clips").rglob("*.npz"))
    _corrupt(entry, how)
    with pytest.warns(CacheWarning, match=entry.name):
        again = extract_corpus(paths, spec="MFCC-16000-40", cache=FeatureCache(cache.root), n_jobs=1)
    np.testing.assert_array_equal(again, clean)
    stacked = next((tmp_path / "cache" / "corpus").rglob("*.npz"))
    with np.load(stacked) as saved:
        np.testing.assert_array_equal(saved["array"], clean)  # the corpus-level entry never got the bad row
