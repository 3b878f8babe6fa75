"""ser_core.training.ensemble: an ensemble's figures from its members' out-of-fold predictions."""

import numpy as np
import pytest

from ser_core.errors import InputError
from ser_core.training.ensemble import combine_protocol

LABELS = ["angry", "calm", "sad"]


def _member(seed, *, paths, truth, folds, skill):
    rng = np.random.default_rng(seed)
    codes = np.array([LABELS.index(t) for t in truth])
    p = rng.dirichlet(np.ones(3), len(truth))
    right = rng.random(len(truth)) < skill
    p[right] = 0.05
    p[right, codes[right]] = 0.9
    return {"paths": list(paths), "labels": np.array(truth), "fold": folds, "probabilities": p, "label_order": LABELS}


def _corpus(n=240):
    rng = np.random.default_rng(0)
    return [f"/c/{i}.wav" for i in range(n)], [LABELS[i] for i in rng.integers(0, 3, n)], np.repeat(np.arange(4), n // 4)


def test_two_members_on_the_same_folds_combine_with_cross_fitted_figures():
    paths, truth, folds = _corpus()
    a = _member(1, paths=paths, truth=truth, folds=folds, skill=0.6)
    b = _member(2, paths=paths, truth=truth, folds=folds, skill=0.6)
    result, predictions, temperatures = combine_protocol([(a, 1.0), (b, 1.0)], protocol="kfold", settings={"n_folds": 4})
    assert len(result.folds) == 4 and result.summary["accuracy"]["n"] == 4
    assert result.pooled["n_clips"] == 240 and predictions["probabilities"].shape == (240, 3)
    assert result.calibration["ece_calibrated"] is not None and len(temperatures["members"]) == 2
    single = np.mean(np.argmax(a["probabilities"], 1) == [LABELS.index(t) for t in truth])
    assert result.pooled["accuracy"] > single  # two independent 60% members beat either


def test_members_are_aligned_by_clip_not_by_row():
    paths, truth, folds = _corpus()
    a = _member(1, paths=paths, truth=truth, folds=folds, skill=0.7)
    order = np.random.default_rng(3).permutation(len(paths))
    shuffled = {key: (np.asarray(value)[order] if key != "label_order" else value) for key, value in a.items()}
    shuffled["paths"] = [paths[i] for i in order]
    same, _, _ = combine_protocol([(a, 1.0), (shuffled, 1.0)], protocol="kfold", settings={})
    alone, _, _ = combine_protocol([(a, 1.0), (a, 1.0)], protocol="kfold", settings={})
    assert same.pooled["accuracy"] == alone.pooled["accuracy"]


def test_different_folds_or_labels_are_refused():
    paths, truth, folds = _corpus()
    a = _member(1, paths=paths, truth=truth, folds=folds, skill=0.7)
    other_folds = dict(a, fold=np.roll(folds, 10))
    with pytest.raises(InputError, match="different folds"):
        combine_protocol([(a, 1.0), (other_folds, 1.0)], protocol="kfold", settings={})
    with pytest.raises(InputError, match="labels"):
        combine_protocol([(a, 1.0), (dict(a, label_order=["x", "y", "z"]), 1.0)], protocol="kfold", settings={})
    with pytest.raises(InputError, match="share no test clips"):
        combine_protocol([(a, 1.0), (dict(a, paths=[p + "x" for p in paths]), 1.0)], protocol="kfold", settings={})
