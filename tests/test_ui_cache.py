"""ui.cache: cache keys that follow the files, and the corpus feature store."""

import os
import time

import numpy as np

from ui import cache


def test_path_signature_changes_with_the_folder(tmp_path):
    before = cache.path_signature(tmp_path)
    (tmp_path / "Actor_01").mkdir()
    after = cache.path_signature(tmp_path)
    assert before != after and after[2] == 1
    assert cache.path_signature(tmp_path / "missing") == (str(tmp_path / "missing"), 0.0, 0)


def test_path_signature_of_a_file_follows_its_content(tmp_path):
    path = tmp_path / "clip.wav"
    path.write_bytes(b"a")
    first = cache.path_signature(path)
    path.write_bytes(b"ab")
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert cache.path_signature(path) != first


def test_corpus_features_are_extracted_once_per_server(app_corpus):
    paths = tuple(str(p) for p in sorted(app_corpus.rglob("*.wav"))[:6])
    calls = []
    X = cache.corpus_features(paths, kind="MFCC-16000-13", progress=lambda d, t: calls.append((d, t)))
    assert X.shape == (6, 3 * 13 + 40) and np.isfinite(X).all() and calls[-1] == (6, 6)
    calls.clear()
    again = cache.corpus_features(paths, kind="MFCC-16000-13", progress=lambda d, t: calls.append((d, t)))
    assert again is X and calls == [(6, 6)]
    assert not X.flags.writeable
