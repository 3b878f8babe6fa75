"""Tests for ser_core.models.losses: the study's focal loss."""

import numpy as np
import pytest

from ser_core.errors import InputError
from ser_core.models.losses import focal_loss, make_loss


def _hand_focal(probabilities, labels, *, alpha, gamma):
    cross_entropy = -np.log(probabilities[np.arange(len(labels)), labels])
    pt = np.exp(-cross_entropy)
    return np.mean(alpha * (1 - pt) ** gamma * cross_entropy)


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (1.0, 0.0), (0.5, 1.0)])
def test_focal_loss_matches_hand_value(alpha, gamma):
    probabilities = np.array([[0.8, 0.2], [0.4, 0.6], [0.1, 0.9]], dtype=np.float32)
    labels = np.array([0, 1, 0])
    per_sample = np.asarray(focal_loss(alpha=alpha, gamma=gamma)(labels, probabilities))
    assert per_sample.shape == (3,)
    assert np.mean(per_sample) == pytest.approx(_hand_focal(probabilities, labels, alpha=alpha, gamma=gamma), rel=1e-5)


def test_focal_loss_study_value_by_hand():
    # CE = -ln 0.8 and -ln 0.6; (1-pt)^2 * 0.25 = 0.01 and 0.04.
    expected = (0.01 * -np.log(0.8) + 0.04 * -np.log(0.6)) / 2
    value = np.mean(np.asarray(focal_loss()(np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]], dtype=np.float32))))
    assert value == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(0.0113317, rel=1e-4)


@pytest.mark.parametrize("alpha, gamma", [(0.0, 2.0), (-1.0, 2.0), (0.25, -0.5), (float("nan"), 1.0)])
def test_focal_loss_rejects_bad_settings(alpha, gamma):
    with pytest.raises(InputError):
        focal_loss(alpha=alpha, gamma=gamma)


@pytest.mark.parametrize("name, ok", [("crossentropy", True), ("focal", True), ("mse", False), ("", False)])
def test_make_loss(name, ok):
    if ok:
        assert make_loss(name) is not None
    else:
        with pytest.raises(InputError, match="unknown loss"):
            make_loss(name)
