"""Calibrated probabilities: temperature scaling and how to measure calibration.

A classifier trained to separate classes is often over-confident: the shipped default
of round 1 showed 99% or more for a quarter of its predictions while being right on
about two thirds. Temperature scaling divides the log-probabilities by one number ``T``
fitted on held-out predictions (never on the clips it is scored on), which leaves the
ranking of the classes, and so the accuracy, unchanged.

Examples
--------
>>> p = np.array([[0.98, 0.02], [0.9, 0.1], [0.6, 0.4]])
>>> T = fit_temperature(p, np.array([0, 1, 0]))
>>> bool(T > 1)  # the model is right on 2 of 3 clips: its 90%+ is too sure
True
"""

from __future__ import annotations

import numpy as np

from ser_core.errors import InputError

#: Probabilities are clipped here before logs are taken (a model may output exact zeros).
_EPSILON = 1e-7
#: Range searched for the temperature.
TEMPERATURE_RANGE = (0.05, 20.0)
#: A prediction shown at this probability or above looks "certain" on screen.
CERTAIN = 0.99


def _checked(probabilities, labels=None):
    """Probabilities as a float (clips, classes) array; labels as class indices."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise InputError(f"probabilities must be a (clips, classes) array with 2+ classes; got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise InputError("probabilities contain NaN or infinity")
    if labels is None:
        return p, None
    y = np.asarray(labels)
    if y.shape != (p.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise InputError(f"labels must be {p.shape[0]} class indices in 0..{p.shape[1] - 1}")
    return p, y


def apply_temperature(probabilities, temperature: float) -> np.ndarray:
    """Probabilities after temperature scaling: ``softmax(log p / T)`` row by row."""
    if not (np.isfinite(temperature) and temperature > 0):
        raise InputError(f"temperature must be a positive number; got {temperature!r}")
    p, _ = _checked(probabilities)
    if temperature == 1.0:
        return p / p.sum(axis=1, keepdims=True)
    logits = np.log(np.clip(p, _EPSILON, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def negative_log_likelihood(probabilities, labels) -> float:
    """Mean negative log-probability of the true class."""
    p, y = _checked(probabilities, labels)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], _EPSILON, 1.0))))


def fit_temperature(probabilities, labels) -> float:
    """The temperature that minimises the negative log-likelihood of held-out predictions.

    Parameters
    ----------
    probabilities : array (clips, classes)
        Predicted probabilities of clips the model did not train on.
    labels : array of int (clips,)
        The true class index of each clip.
    """
    from scipy.optimize import minimize_scalar

    p, y = _checked(probabilities, labels)
    low, high = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(lambda log_t: negative_log_likelihood(apply_temperature(p, float(np.exp(log_t))), y),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def expected_calibration_error(probabilities, labels, *, n_bins: int = 15) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins.

    Each bin's |accuracy - mean confidence| is weighted by its share of the clips
    (Guo et al., 2017). 0 is perfectly calibrated.
    """
    p, y = _checked(probabilities, labels)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    error = 0.0
    for b in range(n_bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def share_certain(probabilities, *, threshold: float = CERTAIN) -> float:
    """Share of predictions whose top probability is at least ``threshold`` (e.g. shown as 99-100%)."""
    p, _ = _checked(probabilities)
    return float(np.mean(p.max(axis=1) >= threshold))


def cross_fitted(probabilities, labels, folds) -> tuple[np.ndarray, list[float]]:
    """Calibrate each fold's predictions with a temperature fitted on the other folds only.

    Returns the calibrated probabilities (same row order) and the temperature of each fold.
    A fold's own labels never choose its temperature, so the calibrated figures are honest.
    """
    p, y = _checked(probabilities, labels)
    folds = np.asarray(folds)
    out = np.empty_like(p)
    temperatures = []
    for fold in np.unique(folds):
        held = folds == fold
        if held.all():
            raise InputError("cross-fitting needs at least 2 folds")
        temperature = fit_temperature(p[~held], y[~held])
        out[held] = apply_temperature(p[held], temperature)
        temperatures.append(temperature)
    return out, temperatures


def calibration_report(probabilities, labels, folds) -> dict:
    """ECE and share of "certain" predictions before and after cross-fitted temperature scaling.

    Also gives ``temperature``: the one fitted on all the predictions, for the shipped model.
    """
    p, y = _checked(probabilities, labels)
    report = {
        "method": "temperature scaling",
        "ece_raw": expected_calibration_error(p, y),
        "share_certain_raw": share_certain(p),
        "certain_threshold": CERTAIN,
        "temperature": fit_temperature(p, y),
    }
    if len(np.unique(folds)) >= 2:
        calibrated, temperatures = cross_fitted(p, y, folds)
        report.update(ece_calibrated=expected_calibration_error(calibrated, y),
                      share_certain_calibrated=share_certain(calibrated), fold_temperatures=temperatures)
    return report


#: Bins of the top probability in a reliability table: [0, 40%), [40, 60%), [60, 80%), [80, 90%), [90, 100%].
RELIABILITY_EDGES = (0.0, 0.4, 0.6, 0.8, 0.9, 1.0)


def reliability_table(probabilities, labels, *, folds=None, edges=RELIABILITY_EDGES) -> list[dict]:
    """How often the top choice was right, per bin of its probability.

    With ``folds`` (two or more), each fold's probabilities are first calibrated with a
    temperature fitted on the other folds (:func:`cross_fitted`): the scores a shipped,
    temperature-scaled model would show, judged on clips that did not choose the
    temperature. Each row: ``low``, ``high`` (the bin, lower edge included; the last bin
    includes 1.0), ``n_clips``, ``accuracy`` (share right, None for an empty bin) and
    ``confidence`` (mean top probability).

    Examples
    --------
    >>> p = np.array([[0.95, 0.05], [0.92, 0.08], [0.55, 0.45], [0.3, 0.7]])
    >>> [(row["low"], row["n_clips"], row["accuracy"]) for row in reliability_table(p, np.array([0, 0, 1, 1]))][-1]
    (0.9, 2, 1.0)
    """
    p, y = _checked(probabilities, labels)
    edges = [float(edge) for edge in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])) or edges[0] < 0 or edges[-1] > 1:
        raise InputError(f"edges must rise from 0..1 with at least two values; got {edges}")
    if folds is not None and len(np.unique(folds)) >= 2:
        p, _ = cross_fitted(p, y, folds)
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    rows = []
    for i, (low, high) in enumerate(zip(edges, edges[1:])):
        last = i == len(edges) - 2
        inside = (confidence >= low) & ((confidence <= high) if last else (confidence < high))
        n = int(inside.sum())
        rows.append({"low": low, "high": high, "n_clips": n,
                     "accuracy": float(correct[inside].mean()) if n else None,
                     "confidence": float(confidence[inside].mean()) if n else None})
    return rows
