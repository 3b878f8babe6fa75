"""Tests for ser_core.adapt: per-speaker statistics from unlabelled clips."""

import numpy as np
import pytest

from ser_core.adapt import SpeakerNormalizer, SpeakerStats, apply_speaker_stats, fit_speaker_stats
from ser_core.errors import InputError, NotFittedError


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
