"""ui.cache: cache keys that follow the files, the corpus feature store, the byte-bounded caches, the warm-up."""

import os
import threading
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


def test_the_byte_bounded_cache_keeps_the_most_recent_within_its_budget():
    store = cache.ByteLRU(1000)
    made = []

    def make(n):
        made.append(n)
        return np.zeros(n, dtype=np.uint8)

    for key, size in (("a", 400), ("b", 400), ("c", 400)):
        store.get(key, lambda size=size: make(size))
    assert store.total_bytes == 800 and len(store) == 2  # "a" went first
    store.get("b", lambda: make(1))  # a hit refreshes "b"
    store.get("d", lambda: make(400))
    assert made == [400, 400, 400, 400] and store.total_bytes == 800
    store.get("c", lambda: make(1))
    assert made[-1] == 1  # "c" was the least recently used: it had gone
    big = store.get("huge", lambda: make(600))  # more than half the budget: used, not kept
    assert len(big) == 600 and store.total_bytes <= 1000 and "huge" not in store._entries
    kept = store.get("b", lambda: make(1))
    assert not kept.flags.writeable  # shared by every session: nobody may change it


def test_decoded_audio_stays_within_its_byte_budget(monkeypatch, app_corpus):
    monkeypatch.setenv("SER_CACHE_MB", "2")  # audio gets 40%: 0.8 MB, about 25 s of 16 kHz float32
    clips = sorted(app_corpus.rglob("*.wav"))[:12]
    for clip in clips:
        y = cache.audio(str(clip), sample_rate=16000)
        assert y.dtype == np.float32 and not y.flags.writeable
    audio_memory = cache.memory("audio")
    assert 0 < audio_memory.total_bytes <= 0.4 * 2 * 2**20 and len(audio_memory) < len(clips)
    assert audio_memory is cache.memory("audio")


def test_a_key_being_made_is_made_once_and_the_other_callers_wait_for_it():
    store = cache.ByteLRU(1000)
    made, got = [], []
    started = threading.Event()

    def make():
        started.set()
        time.sleep(0.3)
        made.append(1)
        return np.zeros(10, dtype=np.uint8)

    first = threading.Thread(target=lambda: got.append(store.get("model", make)))
    first.start()
    started.wait(5)
    assert store.busy("model") and "model" not in store  # being made, not kept yet
    got.append(store.get("model", make))  # waits for the first caller's value
    first.join(5)
    assert made == [1] and got[0] is got[1]
    assert store.busy("model") and "model" in store and not store._making


def test_the_warm_up_loads_the_default_model_once_for_every_session(app_env, monkeypatch, caplog):
    from ser_core.modelfolder.read import default_model_dir

    monkeypatch.setattr(cache, "WARM_UP_DELAY_S", 0.0)
    cache.warm_up.clear()
    cache.memory("models").clear()
    try:
        cache.warm_up().join(timeout=120)
        folder = default_model_dir()
        assert (str(folder), cache.path_signature(folder)) in cache.memory("models")
        assert "not warmed up" not in caplog.text  # its one synthetic second was classified too

        def no_second_load(path):
            raise AssertionError(f"{path} was loaded again")

        monkeypatch.setattr(cache, "_load_model", no_second_load)
        assert cache.model(folder).name == folder.name  # the warmed model, shared
    finally:
        cache.warm_up.clear()
