"""ser_core.modelfolder.reliability and scoring.temperature.reliability_table: how often right at each top score."""

import numpy as np
import pytest

from ser_core.errors import InputError
from ser_core.modelfolder.reliability import bin_name, folder_reliability
from ser_core.scoring.temperature import reliability_table


def test_bins_count_every_clip_once_and_the_last_bin_holds_1():
    p = np.array([[1.0, 0.0], [0.85, 0.15], [0.5, 0.5], [0.3, 0.7], [0.62, 0.38]])
    rows = reliability_table(p, np.array([0, 1, 0, 1, 0]))
    assert sum(row["n_clips"] for row in rows) == 5
    assert [(row["low"], row["n_clips"], row["accuracy"]) for row in rows] == \
        [(0.0, 0, None), (0.4, 1, 1.0), (0.6, 2, 1.0), (0.8, 1, 0.0), (0.9, 1, 1.0)]


def test_cross_fitted_bins_use_other_folds_temperatures():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    logits = rng.normal(size=(400, 4)) + 3 * np.eye(4)[labels]  # over-confident raw scores
    p = np.exp(4 * logits) / np.exp(4 * logits).sum(axis=1, keepdims=True)
    raw = reliability_table(p, labels)
    fitted = reliability_table(p, labels, folds=np.arange(400) % 5)
    assert raw[-1]["n_clips"] > fitted[-1]["n_clips"]  # temperature lowers the share shown at 90%+


@pytest.mark.parametrize("edges", [(0.5,), (0.0, 0.6, 0.4, 1.0), (-0.1, 1.0)])
def test_bad_edges_are_named(edges):
    with pytest.raises(InputError, match="edges"):
        reliability_table(np.array([[0.6, 0.4]]), np.array([0]), edges=edges)


def test_bin_names():
    assert [bin_name({"low": low, "high": high}) for low, high in ((0.0, 0.4), (0.8, 0.9), (0.9, 1.0))] == \
        ["under 40%", "80-90%", "90% or more"]


def test_a_folder_gives_its_table_and_the_row_of_a_score(tmp_path):
    labels = np.array(["angry", "sad"] * 50)
    probabilities = np.where(np.arange(100)[:, None] % 2 == np.array([[0, 1]]), 0.95, 0.05).astype(np.float32)
    np.savez(tmp_path / "predictions.npz", **{"kfold/probabilities": probabilities, "kfold/labels": labels,
                                              "kfold/label_order": np.array(["angry", "sad"]),
                                              "kfold/fold": np.arange(100) % 5})
    table = folder_reliability(tmp_path)
    assert table.protocol == "kfold" and table.title.startswith("new speakers")
    assert table.row_for(0.97)["n_clips"] == 100 and table.row_for(0.97)["accuracy"] == 1.0
    assert table.row_for(0.5) is None
    assert table.markdown()[0] == "| top score | clips | right |"
    assert folder_reliability(tmp_path / "nowhere") is None


def test_the_card_prints_the_table(tmp_path):
    from ser_core.modelfolder.card import model_card
    from ser_core.modelfolder.reliability import Reliability
    from ser_core.modelfolder.results import ModelMetrics

    table = Reliability("kfold", "new speakers (5-fold by speaker)",
                        tuple(reliability_table(np.array([[0.95, 0.05]]), np.array([0]))))
    config = {"name": "m", "model": "logistic_regression", "labels": ["a", "b"], "features": {"kind": "X"},
              "preprocess": {}, "training": {}}
    card = model_card(config, ModelMetrics(), reliability=table)
    assert "## How sure, and how often right" in card and "| 90% or more | 1 | 100% |" in card
