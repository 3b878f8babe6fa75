"""Tests for ser_core.serving.segments: one sliding window for files, arrays and the live microphone."""

import numpy as np
import pytest

from ser_core.errors import InputError, SilentAudioError
from ser_core.serving.segments import SlidingWindows, predict_segments, summarize_timeline


class LoudnessModel:
    """Says 'loud' for loud windows; refuses silence like the real preprocessing does."""

    labels = ["loud", "quiet"]
    sample_rate = 16000

    def predict_proba(self, source, *, sample_rate=None):
        from ser_core.audio.preprocess import load_audio

        y = source if isinstance(source, np.ndarray) else load_audio(source, sample_rate=16000)
        peak = float(np.max(np.abs(y)))
        if peak < 1e-4:
            raise SilentAudioError("silent")
        return np.array([1.0, 0.0]) if peak > 0.2 else np.array([0.0, 1.0])


def test_timeline_of_a_long_array():
    sr = 16000
    y = np.concatenate([0.5 * np.ones(3 * sr), np.zeros(3 * sr), 0.1 * np.ones(3 * sr)]).astype(np.float32)
    timeline = predict_segments(y, LoudnessModel(), sample_rate=sr, segment_s=3.0, hop_s=3.0)
    assert [(t["start_s"], t["end_s"], t["label"]) for t in timeline] == [(0.0, 3.0, "loud"), (3.0, 6.0, None), (6.0, 9.0, "quiet")]
    assert "error" in timeline[1]


def test_a_file_streamed_in_chunks_gives_the_windows_of_the_whole_array(wav_file):
    sr = 16000
    y = (0.5 * np.ones(int(4 * sr))).astype(np.float32)
    from_file = predict_segments(wav_file(y), LoudnessModel(), sample_rate=sr, segment_s=2.0, hop_s=1.0, chunk_s=0.3)
    from_array = predict_segments(y, LoudnessModel(), sample_rate=sr, segment_s=2.0, hop_s=1.0)
    assert [t["start_s"] for t in from_file] == [0.0, 1.0, 2.0] == [t["start_s"] for t in from_array]
    assert from_file[-1]["end_s"] == pytest.approx(4.0)


def test_a_clip_shorter_than_one_segment_gets_one_window():
    timeline = predict_segments(0.5 * np.ones(8000, dtype=np.float32), LoudnessModel(), sample_rate=16000)
    assert len(timeline) == 1 and timeline[0]["end_s"] == pytest.approx(0.5)


def test_a_tail_after_the_last_hop_gets_a_window_ending_at_the_end():
    windows = SlidingWindows(segment_n=30, hop_n=15)
    starts = [start for start, _ in windows.feed(np.arange(100.0))] + [start for start, _ in windows.finish()]
    assert starts == [0, 15, 30, 45, 60, 70]


@pytest.mark.parametrize("pieces", [1, 3, 7, 100])
def test_windows_do_not_depend_on_how_the_stream_is_cut(pieces):
    signal = np.arange(1000.0)
    windows = SlidingWindows(segment_n=120, hop_n=50)
    got = [(start, w.tolist()) for part in np.array_split(signal, pieces) for start, w in windows.feed(part)]
    assert [start for start, _ in got] == list(range(0, 881, 50))
    for start, window in got:
        assert window == signal[start:start + 120].tolist()


def test_the_live_microphone_speaks_after_one_hop_with_a_shorter_window():
    windows = SlidingWindows(segment_n=30, hop_n=10, min_n=10)
    assert [(start, len(w)) for start, w in windows.feed(np.ones(45))] == [(0, 10), (0, 20), (0, 30), (10, 30)]


@pytest.mark.parametrize("kwargs", [{"segment_s": 0}, {"hop_s": -1}])
def test_bad_windows(kwargs):
    with pytest.raises(InputError):
        predict_segments(np.ones(100, dtype=np.float32), LoudnessModel(), sample_rate=16000, **kwargs)


def test_summary_is_the_emotion_heard_for_the_most_time():
    entries = [{"label": "sad", "probabilities": {"sad": 0.6, "angry": 0.4}}] * 3 + \
              [{"label": "angry", "probabilities": {"sad": 0.1, "angry": 0.9}}] * 2 + [{"label": None}]
    summary = summarize_timeline(entries, ["sad", "angry"])
    assert summary["label"] == "sad" and summary["share"] == pytest.approx(0.6)
    assert summary["probabilities"]["angry"] == pytest.approx((0.4 * 3 + 0.9 * 2) / 5)
    assert (summary["n_segments"], summary["n_silent"]) == (5, 1)
    assert summarize_timeline([{"label": None}], ["sad"]) is None
