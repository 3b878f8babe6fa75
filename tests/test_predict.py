"""Tests for ser_core.predict: files, folders with bad files, and long-recording timelines."""

import numpy as np
import pytest

from ser_core.errors import InputError, SilentAudioError
from ser_core.predict import predict_many, predict_segments

from conftest import speechlike


class _LoudnessModel:
    """Says 'loud' for loud windows; refuses silence like the real preprocessing does."""

    labels = ["loud", "quiet"]

    def predict_proba(self, source, *, sample_rate=None):
        from ser_core.audio import load_audio

        y = source if isinstance(source, np.ndarray) else load_audio(source, sample_rate=16000)
        peak = float(np.max(np.abs(y)))
        if peak < 1e-4:
            raise SilentAudioError("silent")
        return np.array([1.0, 0.0]) if peak > 0.2 else np.array([0.0, 1.0])


def test_timeline_of_a_long_array():
    sr = 16000
    y = np.concatenate([0.5 * np.ones(3 * sr), np.zeros(3 * sr), 0.1 * np.ones(3 * sr)]).astype(np.float32)
    timeline = predict_segments(y, _LoudnessModel(), sample_rate=sr, segment_s=3.0, hop_s=3.0)
    assert [(t["start_s"], t["end_s"], t["label"]) for t in timeline] == [(0.0, 3.0, "loud"), (3.0, 6.0, None), (6.0, 9.0, "quiet")]
    assert "error" in timeline[1]


def test_overlapping_windows_and_a_short_tail(wav_file):
    sr = 16000
    y = (0.5 * np.ones(int(4 * sr))).astype(np.float32)
    path = wav_file(y)
    from_file = predict_segments(path, _LoudnessModel(), sample_rate=sr, segment_s=2.0, hop_s=1.0, chunk_s=0.5)
    from_array = predict_segments(y, _LoudnessModel(), sample_rate=sr, segment_s=2.0, hop_s=1.0)
    starts = [t["start_s"] for t in from_file]
    assert starts == [0.0, 1.0, 2.0] == [t["start_s"] for t in from_array]
    assert from_file[-1]["end_s"] == pytest.approx(4.0)


def test_a_clip_shorter_than_one_segment_gets_one_window():
    timeline = predict_segments(0.5 * np.ones(8000, dtype=np.float32), _LoudnessModel(), sample_rate=16000)
    assert len(timeline) == 1 and timeline[0]["end_s"] == pytest.approx(0.5)


@pytest.mark.parametrize("kwargs", [{"segment_s": 0}, {"hop_s": -1}])
def test_bad_windows(kwargs):
    with pytest.raises(InputError):
        predict_segments(np.ones(100, dtype=np.float32), _LoudnessModel(), sample_rate=16000, **kwargs)


def test_predict_many_walks_folders_and_survives_bad_files(tmp_path, wav_file):
    wav_file(speechlike(), name="a.wav")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.wav").write_bytes(b"RIFF nonsense")
    (tmp_path / "notes.txt").write_text("not audio")
    records = list(predict_many([tmp_path], _LoudnessModel()))
    assert [r["path"].split("/")[-1] for r in records] == ["a.wav", "broken.wav"]
    assert records[0]["label"] == "loud" and set(records[0]["probabilities"]) == {"loud", "quiet"}
    assert "error" in records[1]
