"""Tests for ser_core.serving.predict: files, folders with bad files, long recordings, truncated files."""

import numpy as np
import pytest

from ser_core.errors import InputError, SilentAudioError
from ser_core.modelfolder.prediction import TimelineSummary
from ser_core.serving.predict import iter_predictions, predict_file
from ser_core.serving.segments import LONG_CLIP_S

from conftest import speechlike
from test_segments import LoudnessModel


def test_folders_are_walked_and_bad_files_reported(tmp_path, wav_file):
    wav_file(speechlike(), name="a.wav")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.wav").write_bytes(b"RIFF nonsense")
    (tmp_path / "notes.txt").write_text("not audio")
    records = list(iter_predictions([tmp_path], LoudnessModel()))
    assert [r.source.split("/")[-1] for r in records] == ["a.wav", "broken.wav"]
    assert records[0].label == "loud" and set(records[0].probabilities) == {"loud", "quiet"}
    assert records[0].model == "loudness" and records[1].error and not records[1].ok


def test_an_empty_folder_and_a_missing_path_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no audio files"):
        list(iter_predictions([tmp_path / "empty"], LoudnessModel()))
    with pytest.raises(InputError, match="no file or folder"):
        list(iter_predictions([tmp_path / "nowhere.wav"], LoudnessModel()))


def test_a_long_recording_gives_window_records_and_a_summary(wav_file):
    sr = 16000
    y = np.concatenate([0.5 * np.ones(40 * sr), 0.1 * np.ones(30 * sr)]).astype(np.float32)
    records = list(iter_predictions([wav_file(y)], LoudnessModel(), long_s=60))
    windows, summary = records[:-1], records[-1]
    assert all(r.is_window for r in windows) and len(windows) > 40
    assert isinstance(summary, TimelineSummary) and summary.label == "loud"
    assert summary.duration_s == pytest.approx(70.0) and 0.5 < summary.share < 0.65
    assert summary.to_record()["summary"] is True


def test_a_clip_over_the_long_clip_threshold_is_told_by_its_timeline(wav_file):
    sr = 16000
    short = wav_file((0.5 * np.ones(int((LONG_CLIP_S - 1) * sr))).astype(np.float32), name="short.wav")
    long = wav_file((0.5 * np.ones(int((LONG_CLIP_S + 1) * sr))).astype(np.float32), name="long.wav")
    records = list(iter_predictions([short, long], LoudnessModel()))
    assert not records[0].is_window and not isinstance(records[0], TimelineSummary)
    assert all(r.is_window for r in records[1:-1]) and isinstance(records[-1], TimelineSummary)


def test_a_truncated_wav_is_classified_with_a_warning(tmp_path, wav_file):
    path = wav_file(speechlike(duration_s=3.0))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(data[: len(data) // 3])
    record = predict_file(truncated, LoudnessModel())
    assert "truncated" in record.warning and "header declares" in record.warning
    assert predict_file(path, LoudnessModel()).warning is None


def test_a_truncated_wav_that_kept_only_silence_is_called_damaged(tmp_path, wav_file):
    sr = 16000
    path = wav_file(np.concatenate([np.zeros(sr, dtype=np.float32), speechlike(duration_s=2.0)]))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:44 + sr // 2])  # a quarter of a second, all of it silent
    with pytest.raises(SilentAudioError, match="the file is damaged: its header promises more audio.*silent"):
        predict_file(cut, LoudnessModel())
    silent = wav_file(np.zeros(sr, dtype=np.float32), name="silent.wav")
    with pytest.raises(SilentAudioError) as raised:
        predict_file(silent, LoudnessModel())
    assert "damaged" not in str(raised.value)


class NotingModel(LoudnessModel):
    """Adds a note to every prediction, as a gated ensemble does for a recording a member left out."""

    def predict_audio(self, source, *, sample_rate=None):
        return super().predict_audio(source, sample_rate=sample_rate).replace(warning="a member was left out")


def test_a_clip_that_may_not_be_speech_says_so_in_its_warning(wav_file):
    noise = wav_file((0.3 * np.random.default_rng(0).normal(size=48000)).astype(np.float32), name="noise.wav")
    speech = wav_file(speechlike(duration_s=3.0), name="speech.wav")
    assert predict_file(speech, LoudnessModel()).warning is None
    doubt = predict_file(noise, LoudnessModel()).warning
    assert doubt.startswith("this may not be speech.") and "steady noise" in doubt
    assert predict_file(speech, NotingModel()).warning == "a member was left out"  # the model's own note is kept
    assert predict_file(noise, NotingModel()).warning == doubt  # the doubt says more


def test_a_manifest_stands_for_its_clips_and_its_bad_rows(tmp_path, wav_file):
    wav_file(speechlike(), name="a.wav")
    wav_file(speechlike(seed=1), name="b.wav")
    manifest = tmp_path / "clips.csv"
    manifest.write_text("path,label\na.wav,x\nmissing.wav,y\n../outside.wav,z\nb.wav,y\n")
    records = list(iter_predictions([manifest], LoudnessModel()))
    assert [r.source.split("/")[-1] for r in records] == ["missing.wav", "outside.wav", "a.wav", "b.wav"]
    assert "no file at" in records[0].error and "leaves the manifest's folder" in records[1].error
    assert records[2].label == "loud" and records[3].error is None
