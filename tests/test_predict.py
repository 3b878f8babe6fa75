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


# ---------------------------------------------------------------- speaker adaptation (issue 5)
from pathlib import Path  # noqa: E402

from ser_core.artifacts import load_model  # noqa: E402
from ser_core.errors import ModelError  # noqa: E402
from ser_core.predict import (  # noqa: E402
    MIN_ENROLMENT_CLIPS, adapt_to_speaker, calibrate_from_features, predict_speaker, predict_speakers,
    speaker_of, supports_speaker_adaptation,
)

from conftest import TINY_ADAPTIVE_MODEL  # noqa: E402


@pytest.fixture(scope="module")
def adaptive(adaptive_models):
    return load_model(adaptive_models / TINY_ADAPTIVE_MODEL)


@pytest.fixture(scope="module")
def actor_clips(ravdess_16k):
    """Six clips of actor 01 (one per emotion from neutral to fearful)."""
    return [sorted((ravdess_16k / "Actor_01").glob(f"03-01-{e:02d}-*.wav"))[0] for e in range(1, 7)]


def test_adapted_predictions_match_the_model_own_adapted_head(adaptive, actor_clips):
    probs = predict_speaker(actor_clips, adaptive, prior_clips=4.0)
    X = np.stack([adaptive.features(p) for p in actor_clips])
    expected = adaptive.estimator.predict_proba(X, speakers=np.zeros(len(X)), prior_clips=4.0)
    np.testing.assert_allclose(probs, expected, atol=1e-10)
    assert probs.shape == (6, len(adaptive.labels))
    single = adaptive.predict_proba_features(X)
    assert not np.allclose(probs, single)  # the adapted head really is a different prediction


def test_enrolment_calibrates_new_clips_of_the_same_speaker(adaptive, actor_clips):
    enrol, new = actor_clips[:4], actor_clips[4:]
    calibration = adapt_to_speaker(adaptive, enrol)
    assert calibration.n_clips == 4 and calibration.labels == adaptive.labels
    one = calibration.predict_proba(new[0])
    assert one.shape == (len(adaptive.labels),) and one.sum() == pytest.approx(1.0)
    assert calibration.predict(new[0]) in adaptive.labels
    np.testing.assert_allclose(predict_speaker(new, adaptive, enrol=enrol)[0], one)
    # Enrolment statistics differ from the batch's own, so the two calibrations differ.
    assert not np.allclose(predict_speaker(new, adaptive)[0], one)


def test_calibration_also_works_on_arrays(adaptive, actor_clips):
    from ser_core.audio import load_audio

    arrays = [load_audio(p, sample_rate=16000) for p in actor_clips[:3]]
    calibration = adapt_to_speaker(adaptive, arrays, sample_rate=16000)
    np.testing.assert_allclose(calibration.predict_proba(arrays[0], sample_rate=16000),
                               adapt_to_speaker(adaptive, actor_clips[:3]).predict_proba(actor_clips[0]), atol=1e-6)


@pytest.mark.parametrize("n_clips", [0, 1])
def test_too_few_enrolment_clips_are_refused(adaptive, actor_clips, n_clips):
    with pytest.raises(InputError, match=f"at least {MIN_ENROLMENT_CLIPS}.*received {n_clips}"):
        adapt_to_speaker(adaptive, actor_clips[:n_clips])


def test_features_of_the_wrong_width_are_refused(adaptive):
    with pytest.raises(InputError, match="feature values per clip"):
        calibrate_from_features(adaptive, np.ones((3, 5)))


def test_models_without_an_adapted_head_are_refused(app_models, actor_clips):
    from app_support import TINY_MODEL

    plain = load_model(app_models / TINY_MODEL, trust=True)
    assert not supports_speaker_adaptation(plain)
    for call in (lambda: adapt_to_speaker(plain, actor_clips[:3]), lambda: predict_speaker(actor_clips, plain),
                 lambda: predict_speakers(actor_clips, plain)):
        with pytest.raises(ModelError, match="adaptive_linear"):
            call()


SPEAKERS = [
    ("auto", "Actor_07/03-01-05-01-02-01-07.wav", "ravdess-actor-07"),
    ("ravdess", "x/03-01-05-01-02-01-12.wav", "ravdess-actor-12"),
    ("auto", "alice/happy.wav", "alice"),
    ("folder", "Actor_07/03-01-05-01-02-01-07.wav", "Actor_07"),
    ("ravdess", "alice/happy.wav", InputError),
    ("by-voice", "alice/happy.wav", InputError),
]


@pytest.mark.parametrize(("grouping", "name", "expected"), SPEAKERS)
def test_speaker_of(tmp_path, grouping, name, expected):
    path = tmp_path / name
    if expected is InputError:
        with pytest.raises(InputError):
            speaker_of(path, grouping=grouping)
    else:
        assert Path(speaker_of(path, grouping=grouping)).name == expected


def test_predict_speakers_groups_adapts_and_keeps_file_order(adaptive, tmp_path, ravdess_16k):
    for actor in ("01", "02"):
        for path in sorted((ravdess_16k / f"Actor_{actor}").glob("*.wav"))[:3]:
            (tmp_path / path.name).symlink_to(path)  # one folder: speakers come from the names
    lone = tmp_path / "solo" / "me.wav"
    lone.parent.mkdir()
    lone.symlink_to(sorted((ravdess_16k / "Actor_03").glob("*.wav"))[0])
    (tmp_path / "solo" / "broken.wav").write_bytes(b"RIFF junk")
    records = predict_speakers([tmp_path], adaptive)
    names = [Path(r["path"]).name for r in records]
    assert names == sorted(p.name for p in tmp_path.glob("*.wav")) + ["broken.wav", "me.wav"]
    by_speaker = {}
    for record in records[:6]:
        assert record["adapted"] is True and record["label"] in adaptive.labels
        by_speaker.setdefault(record["speaker"], []).append(record)
    assert sorted(by_speaker) == ["ravdess-actor-01", "ravdess-actor-02"]
    assert "error" in records[6]
    assert records[7]["adapted"] is False and "at least 2" in records[7]["note"]
    assert records[7]["label"] == records[7]["single_clip_label"]
    # Each speaker is adapted with their own clips only: the same as adapting that group alone.
    group = [Path(r["path"]) for r in by_speaker["ravdess-actor-01"]]
    expected = predict_speaker(group, adaptive)
    got = np.array([[r["probabilities"][label] for label in adaptive.labels] for r in by_speaker["ravdess-actor-01"]])
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.slow
def test_the_shipped_default_model_adapts_to_one_actor(actor_clips):
    from ser_core.artifacts import default_model_dir

    model = load_model(default_model_dir())
    assert supports_speaker_adaptation(model)
    probs = predict_speaker(actor_clips, model)
    assert probs.shape == (6, 8) and np.allclose(probs.sum(axis=1), 1.0)


@pytest.mark.parametrize("prior_clips", [-1.0, float("nan")])
def test_bad_prior_clips_are_refused(adaptive, actor_clips, prior_clips):
    with pytest.raises(InputError, match="prior_clips must be >= 0"):
        adapt_to_speaker(adaptive, actor_clips[:2], prior_clips=prior_clips)
    with pytest.raises(InputError, match="prior_clips must be >= 0"):
        predict_speakers(actor_clips, adaptive, prior_clips=prior_clips)
