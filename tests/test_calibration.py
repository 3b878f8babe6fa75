"""ser_core.scoring.temperature: temperature scaling, ECE, cross-fitting."""

import numpy as np
import pytest

from ser_core.scoring.temperature import (apply_temperature, calibration_report, cross_fitted,
                                          expected_calibration_error, fit_temperature, share_certain)
from ser_core.errors import InputError


def _overconfident(n=400, seed=0):
    """A 3-class model right 60% of the time that always says 98%."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    predicted = np.where(rng.random(n) < 0.6, labels, (labels + 1) % 3)
    p = np.full((n, 3), 0.01)
    p[np.arange(n), predicted] = 0.98
    return p, labels


def test_temperature_keeps_the_ranking_and_fixes_overconfidence():
    p, y = _overconfident()
    t = fit_temperature(p, y)
    calibrated = apply_temperature(p, t)
    assert t > 1 and np.array_equal(calibrated.argmax(axis=1), p.argmax(axis=1))
    assert np.allclose(calibrated.sum(axis=1), 1.0)
    assert expected_calibration_error(calibrated, y) < 0.05 < expected_calibration_error(p, y)
    assert share_certain(p) == 0.0 and share_certain(apply_temperature(p, 0.3)) == 1.0


def test_cross_fitting_never_uses_a_fold_own_labels():
    p, y = _overconfident()
    folds = np.repeat(np.arange(4), 100)
    calibrated, temperatures = cross_fitted(p, y, folds)
    assert len(temperatures) == 4
    first = apply_temperature(p[:100], fit_temperature(p[100:], y[100:]))
    np.testing.assert_allclose(calibrated[:100], first)
    report = calibration_report(p, y, folds)
    assert report["ece_calibrated"] < report["ece_raw"] and report["temperature"] > 1


@pytest.mark.parametrize("bad", [np.ones(3), np.ones((2, 1)), np.full((2, 2), np.nan)])
def test_bad_probabilities_are_refused(bad):
    with pytest.raises(InputError):
        apply_temperature(bad, 1.5)


def test_bad_temperatures_and_labels_are_refused():
    p, y = _overconfident(10)
    for t in (0, -1, float("nan")):
        with pytest.raises(InputError):
            apply_temperature(p, t)
    with pytest.raises(InputError):
        fit_temperature(p, y + 5)
    with pytest.raises(InputError, match="2 folds"):
        cross_fitted(p, y, np.zeros(10))
