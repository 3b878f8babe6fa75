"""Tests for ser_core.serving.segments: one sliding window for files, arrays and the live microphone."""

import numpy as np
import pytest

from ser_core.errors import InputError, SilentAudioError
from ser_core.modelfolder.prediction import Prediction, Timeline
from ser_core.serving.segments import SlidingWindows, predict_segments


class LoudnessModel:
    """Says 'loud' for loud windows; refuses silence like the real preprocessing does."""

    name = "loudness"
    labels = ["loud", "quiet"]
    sample_rate = 16000

    def predict_audio(self, source, *, sample_rate=None):
        from ser_core.audio.preprocess import load_audio

        y = source if isinstance(source, np.ndarray) else load_audio(source, sample_rate=16000)
        peak = float(np.max(np.abs(y)))
        if peak < 1e-4:
            raise SilentAudioError("silent")
        return Prediction.from_proba([1.0, 0.0] if peak > 0.2 else [0.0, 1.0], labels=self.labels, model=self.name)


def test_timeline_of_a_long_array():
    sr = 16000
    y = np.concatenate([0.5 * np.ones(3 * sr), np.zeros(3 * sr), 0.1 * np.ones(3 * sr)]).astype(np.float32)
    timeline = predict_segments(y, LoudnessModel(), sample_rate=sr, segment_s=3.0, hop_s=3.0)
    assert [(t.start_s, t.end_s, t.label) for t in timeline] == [(0.0, 3.0, "loud"), (3.0, 6.0, None), (6.0, 9.0, "quiet")]
    assert timeline.windows[1].error == "silent" and timeline.windows[0].model == "loudness"
    frame = timeline.to_frame()
    assert list(frame["time_s"]) == [1.5, 4.5, 7.5] and np.isnan(frame.loc[1, "loud"]) and frame.loc[0, "loud"] == 1.0


def test_a_file_streamed_in_chunks_gives_the_windows_of_the_whole_array(wav_file):
    sr = 16000
    y = (0.5 * np.ones(int(4 * sr))).astype(np.float32)
    from_file = predict_segments(wav_file(y), LoudnessModel(), sample_rate=sr, segment_s=2.0, hop_s=1.0, chunk_s=0.3)
    from_array = predict_segments(y, LoudnessModel(), sample_rate=sr, segment_s=2.0, hop_s=1.0)
    assert [t.start_s for t in from_file] == [0.0, 1.0, 2.0] == [t.start_s for t in from_array]
    assert from_file.windows[-1].end_s == pytest.approx(4.0) == from_file.duration_s
    assert from_file.source.endswith(".wav") and from_file.windows[0].source == from_file.source


def test_a_clip_shorter_than_one_segment_gets_one_window():
    timeline = predict_segments(0.5 * np.ones(8000, dtype=np.float32), LoudnessModel(), sample_rate=16000)
    assert len(timeline) == 1 and timeline.windows[0].end_s == pytest.approx(0.5)


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


def _window(start_s, proba=None, labels=("sad", "angry")):
    span = {"start_s": start_s, "end_s": start_s + 3.0, "source": "long.wav"}
    if proba is None:
        return Prediction.failed("silent", **span)
    return Prediction.from_proba(proba, labels=list(labels), **span)


def test_summary_is_the_emotion_heard_for_the_most_time():
    windows = [_window(0.0, [0.6, 0.4]), _window(1.5, [0.6, 0.4]), _window(3.0, [0.6, 0.4]),
               _window(4.5, [0.1, 0.9]), _window(6.0, [0.1, 0.9]), _window(7.5)]
    summary = Timeline(windows, labels=["sad", "angry"], source="long.wav").summary()
    assert summary.label == "sad" and summary.share == pytest.approx(0.6) and summary.ok
    assert summary.probabilities["angry"] == pytest.approx((0.4 * 3 + 0.9 * 2) / 5)
    assert (summary.n_segments, summary.n_silent, summary.duration_s) == (5, 1, 10.5)
    assert summary.to_record()["summary"] is True and not summary.is_window
    silent = Timeline([_window(0.0)], labels=["sad"]).summary()
    assert not silent.ok and "silent" in silent.error and silent.to_record() == {
        "path": "", "summary": True, "error": silent.error}


def test_a_prediction_is_one_label_with_every_probability():
    one = Prediction.from_proba([0.2, 0.8], labels=["calm", "sad"], model="m", source="a.wav")
    assert (one.label, one.score, one.labels, one.ok) == ("sad", 0.8, ["calm", "sad"], True)
    np.testing.assert_allclose(one.to_array(["sad", "calm"]), [0.8, 0.2])
    assert one.to_record() == {"path": "a.wav", "label": "sad", "probabilities": {"calm": 0.2, "sad": 0.8}}
    broken = Prediction.failed("cannot be decoded", source="b.wav")
    assert not broken.ok and broken.score is None and broken.to_record() == {"path": "b.wav", "error": "cannot be decoded"}
    with pytest.raises(InputError, match="3 probabilities for 2 labels"):
        Prediction.from_proba([0.2, 0.3, 0.5], labels=["calm", "sad"])
