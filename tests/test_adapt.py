"""Tests for ser_core.models.speaker_stats: per-speaker statistics from unlabelled clips."""

import numpy as np
import pytest

from ser_core.errors import InputError, NotFittedError
from ser_core.models.speaker_stats import SpeakerNormalizer, SpeakerStats, apply_speaker_stats, fit_speaker_stats


def _two_speakers(seed=0):
    """Two speakers whose features differ by an offset and a scale, same underlying pattern."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((20, 3))
    X = np.vstack([base * 1.0 + 5.0, base * 3.0 - 2.0])
    speakers = np.array(["a"] * 20 + ["b"] * 20)
    return X, speakers, base


def test_fit_speaker_stats_matches_numpy():
    X = np.random.default_rng(1).standard_normal((10, 4)) * 2 + 1
    stats = fit_speaker_stats(X)
    np.testing.assert_allclose(stats.mean, X.mean(axis=0))
    np.testing.assert_allclose(stats.std, X.std(axis=0))
    assert stats.n_clips == 10


def test_apply_gives_zero_mean_unit_std():
    X = np.random.default_rng(2).standard_normal((15, 3)) * 4 - 7
    Z = apply_speaker_stats(X, fit_speaker_stats(X))
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-9)


def test_normalizer_removes_speaker_offset_and_scale():
    X, speakers, base = _two_speakers()
    Z = SpeakerNormalizer().fit_transform(X, speakers)
    # Both speakers end up with the same normalised pattern.
    np.testing.assert_allclose(Z[:20], Z[20:], atol=1e-9)


def test_prior_shrinks_toward_population():
    prior = SpeakerStats(mean=np.zeros(2), std=np.ones(2), n_clips=100)
    X = np.array([[10.0, 10.0], [12.0, 12.0]])
    own = fit_speaker_stats(X)
    shrunk = fit_speaker_stats(X, prior=prior, prior_clips=2.0)
    assert np.all(np.abs(shrunk.mean) < np.abs(own.mean))
    np.testing.assert_allclose(shrunk.mean, 0.5 * X.mean(axis=0))


def test_single_clip_works_with_prior():
    prior = SpeakerStats(mean=np.zeros(3), std=np.ones(3), n_clips=50)
    stats = fit_speaker_stats(np.ones((1, 3)), prior=prior, prior_clips=4.0)
    assert np.all(stats.std > 0)


def test_transform_uses_fitted_statistics_for_new_clips():
    X, speakers, _ = _two_speakers()
    norm = SpeakerNormalizer().fit(X, speakers)
    new = X[:3] + 0.0
    np.testing.assert_allclose(norm.transform(new, np.array(["a"] * 3)), (new - X[:20].mean(0)) / X[:20].std(0))


def test_constant_feature_does_not_blow_up():
    X = np.column_stack([np.ones(5), np.arange(5.0)])
    Z = SpeakerNormalizer().fit_transform(X, np.zeros(5))
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, 0], 0)


@pytest.mark.parametrize(
    "X, kwargs, match",
    [
        (np.zeros((0, 3)), {}, "non-empty 2-D"),
        (np.zeros(3), {}, "non-empty 2-D"),
        (np.array([[1.0, np.nan], [2.0, 3.0]]), {}, "NaN"),
        (np.ones((1, 3)), {}, "at least 2 clips"),
        (np.ones((3, 3)), {"prior_clips": -1.0}, "prior_clips must be >= 0"),
        (np.ones((3, 3)), {"prior_clips": 2.0}, "needs population statistics"),
        (np.ones((3, 3)), {"prior_clips": 2.0, "prior": SpeakerStats(np.zeros(2), np.ones(2), 5)}, "features"),
    ],
)
def test_fit_speaker_stats_rejects_bad_input(X, kwargs, match):
    with pytest.raises(InputError, match=match):
        fit_speaker_stats(X, **kwargs)


def test_apply_rejects_wrong_width():
    stats = fit_speaker_stats(np.random.default_rng(0).standard_normal((4, 3)))
    with pytest.raises(InputError, match="3"):
        apply_speaker_stats(np.ones((2, 5)), stats)


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        SpeakerNormalizer().transform(np.ones((2, 2)), np.array([0, 0]))


@pytest.mark.parametrize(
    "speakers, match",
    [
        (np.array(["a", "b"]), "one id per clip"),
        (np.array(["z"] * 40), "not seen in fit"),
    ],
)
def test_transform_rejects_bad_speakers(speakers, match):
    X, train_speakers, _ = _two_speakers()
    norm = SpeakerNormalizer().fit(X, train_speakers)
    with pytest.raises(InputError, match=match):
        norm.transform(X, speakers)


# ---------------------------------------------------------------- adapting a loaded model to one voice
from pathlib import Path  # noqa: E402

from ser_core.serving.speakers import (MIN_ENROLMENT_CLIPS, SpeakerAdaptation, adapt_from_features,  # noqa: E402
                                       adapt_to_speaker, predict_speakers, speaker_of)
from ser_core.errors import ModelError  # noqa: E402
from ser_core.modelfolder.read import load_model  # noqa: E402

from conftest import TINY_ADAPTIVE_MODEL  # noqa: E402


@pytest.fixture(scope="module")
def adaptive(adaptive_models):
    return load_model(adaptive_models / TINY_ADAPTIVE_MODEL)


@pytest.fixture(scope="module")
def actor_clips(ravdess_16k):
    """Six clips of actor 01 (one per emotion from neutral to fearful)."""
    return [sorted((ravdess_16k / "Actor_01").glob(f"03-01-{e:02d}-*.wav"))[0] for e in range(1, 7)]


def test_adaptation_uses_the_model_own_adapted_head(adaptive, actor_clips):
    adapted = adapt_to_speaker(adaptive, actor_clips, prior_clips=4.0)
    X = np.stack([adaptive.features(p) for p in actor_clips])
    expected = adaptive.estimator.predict_proba(X, speakers=np.zeros(len(X)), prior_clips=4.0)
    got = np.stack([adapted.predict_audio(p).to_array() for p in actor_clips])
    np.testing.assert_allclose(got, expected, atol=1e-10)
    np.testing.assert_allclose(adapted.predict_proba(X), expected, atol=1e-10)  # features in, the same head
    assert not np.allclose(got, adaptive.predict_proba(X))  # the adapted head really differs


def test_enrolment_calibrates_new_clips_of_the_same_speaker(adaptive, actor_clips):
    enrol, new = actor_clips[:4], actor_clips[4:]
    adapted = adapt_to_speaker(adaptive, enrol)
    assert isinstance(adapted, SpeakerAdaptation)
    assert adapted.n_clips == 4 and adapted.labels == adaptive.labels and adapted.name == adaptive.name
    one = adapted.predict_audio(new[0])
    assert one.to_array().shape == (len(adaptive.labels),) and one.to_array().sum() == pytest.approx(1.0)
    assert one.label in adaptive.labels and one.adapted and one.source == str(new[0])
    assert adapted.predict(adapted.stack_features([adapted.features(new[0])]))[0] == one.label
    assert not np.allclose(adapt_to_speaker(adaptive, actor_clips).predict_audio(new[0]).to_array(), one.to_array())


def test_adaptation_also_works_on_arrays(adaptive, actor_clips):
    from ser_core.audio.preprocess import load_audio

    arrays = [load_audio(p, sample_rate=16000) for p in actor_clips[:3]]
    adapted = adapt_to_speaker(adaptive, arrays, sample_rate=16000)
    np.testing.assert_allclose(adapted.predict_audio(arrays[0], sample_rate=16000).to_array(),
                               adapt_to_speaker(adaptive, actor_clips[:3]).predict_audio(actor_clips[0]).to_array(),
                               atol=1e-6)


@pytest.mark.parametrize("n_clips", [0, 1])
def test_too_few_enrolment_clips_are_refused(adaptive, actor_clips, n_clips):
    with pytest.raises(InputError, match=f"at least {MIN_ENROLMENT_CLIPS}.*received {n_clips}"):
        adapt_to_speaker(adaptive, actor_clips[:n_clips])


def test_features_of_the_wrong_width_are_refused(adaptive):
    with pytest.raises(InputError, match="feature values per clip"):
        adapt_from_features(adaptive, np.ones((3, 5)))


def test_models_without_an_adapted_head_are_refused(app_models, actor_clips):
    from app_support import TINY_MODEL

    plain = load_model(app_models / TINY_MODEL, trust=True)
    assert not plain.supports_speaker_adaptation
    for call in (lambda: adapt_to_speaker(plain, actor_clips[:3]), lambda: predict_speakers(actor_clips, plain),
                 lambda: adapt_from_features(plain, np.ones((3, 5)))):
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
    names = [Path(r.source).name for r in records]
    assert names == sorted(p.name for p in tmp_path.glob("*.wav")) + ["broken.wav", "me.wav"]
    by_speaker = {}
    for record in records[:6]:
        assert record.adapted is True and record.label in adaptive.labels
        by_speaker.setdefault(record.speaker, []).append(record)
    assert sorted(by_speaker) == ["ravdess-actor-01", "ravdess-actor-02"]
    assert records[6].error and not records[6].ok
    assert records[7].adapted is False and "at least 2" in records[7].warning
    assert records[7].label == records[7].single_clip.label == records[7].to_record()["single_clip_label"]
    # Each speaker is adapted with their own clips only: the same as adapting that group alone.
    group = [Path(r.source) for r in by_speaker["ravdess-actor-01"]]
    adapted = adapt_to_speaker(adaptive, group)
    expected = np.stack([adapted.predict_audio(p).to_array() for p in group])
    got = np.array([r.to_array(adaptive.labels) for r in by_speaker["ravdess-actor-01"]])
    np.testing.assert_allclose(got, expected, atol=1e-10)
    single = np.array([r.single_clip.to_array() for r in by_speaker["ravdess-actor-01"]])
    np.testing.assert_allclose(single, np.stack([adaptive.predict_audio(p).to_array() for p in group]), atol=1e-10)


def test_predict_speakers_decodes_each_clip_once_and_extracts_features_once(adaptive, actor_clips, monkeypatch):
    import ser_core.features
    from ser_core.audio import preprocess

    decoded, extracted = [], []
    load_clip, extract = preprocess.load_clip, ser_core.features.extract
    monkeypatch.setattr(preprocess, "load_clip", lambda *a, **k: decoded.append(a[0]) or load_clip(*a, **k))
    monkeypatch.setattr(ser_core.features, "extract", lambda *a, **k: extracted.append(1) or extract(*a, **k))
    records = predict_speakers(actor_clips, adaptive)
    assert all(r.adapted for r in records)
    assert sorted(map(str, decoded)) == sorted(map(str, actor_clips)) and len(extracted) == len(actor_clips)


@pytest.mark.slow
def test_the_shipped_default_model_adapts_to_one_actor(actor_clips):
    from ser_core.modelfolder.read import default_model_dir

    model = load_model(default_model_dir())
    assert model.supports_speaker_adaptation
    adapted = adapt_to_speaker(model, actor_clips)
    probs = np.stack([adapted.predict_audio(p).to_array() for p in actor_clips])
    assert probs.shape == (6, 8) and np.allclose(probs.sum(axis=1), 1.0)
    X = model.stack_features([model.features(p) for p in actor_clips])
    np.testing.assert_allclose(adapted.predict_proba(X), probs, atol=1e-5)  # features in: the same figures


@pytest.mark.parametrize("prior_clips", [-1.0, float("nan")])
def test_bad_prior_clips_are_refused(adaptive, actor_clips, prior_clips):
    with pytest.raises(InputError, match="prior_clips must be >= 0"):
        adapt_to_speaker(adaptive, actor_clips[:2], prior_clips=prior_clips)
    with pytest.raises(InputError, match="prior_clips must be >= 0"):
        predict_speakers(actor_clips, adaptive, prior_clips=prior_clips)
