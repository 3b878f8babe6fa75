"""Tests for ser_core.storage: clips at URLs give the features, and cache keys, of the same files on disk."""

from pathlib import Path

import numpy as np
import pytest

from ser_core.errors import InputError
from ser_core.features import extract_clips
from ser_core.features.cache import FeatureCache
from ser_core.storage import exists, is_url

KIND = "MFCC-16000-13"


@pytest.mark.parametrize("path, url", [
    ("s3://bucket/ravdess/a.wav", True), ("file:///data/a.wav", True), ("https://host/a.wav", True),
    ("/data/a.wav", False), ("data/a.wav", False), ("C:/data/a.wav", False), (Path("/data/a.wav"), False),
])
def test_urls_are_told_from_paths(path, url):
    assert is_url(path) is url


def test_clips_at_urls_give_the_features_and_cache_keys_of_the_files(ravdess_16k, tmp_path):
    paths = [str(p) for p in sorted((ravdess_16k / "Actor_01").glob("*.wav"))[:2]]
    urls = [Path(path).as_uri() for path in paths] + [(tmp_path / "missing.wav").as_uri()]
    assert [exists(url) for url in urls] == [True, True, False]
    local = extract_clips(paths, spec=KIND, cache=False, n_jobs=1)
    remote = extract_clips(urls, spec=KIND, cache=False, n_jobs=1)
    np.testing.assert_allclose(remote.X[:2], local.X, atol=1e-6)
    assert remote.failures == {2: f"no audio file at '{urls[2]}'"}
    cache = FeatureCache(tmp_path / "cache")  # a clip's cache entry is the same whether read from disk or a URL
    assert [cache.content_hash(url) for url in urls[:2]] == [cache.content_hash(path) for path in paths]


def test_a_url_nothing_can_open_is_one_clear_error():
    with pytest.raises(InputError, match="cannot read 'nosuchstore://bucket/a.wav': Protocol not known"):
        extract_clips(["nosuchstore://bucket/a.wav"], spec=KIND, cache=False, n_jobs=1)
