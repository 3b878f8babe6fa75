"""Tests for ser_core.scoring.crosscorpus: scoring on another corpus over the shared labels only."""

import numpy as np
import pytest

from ser_core.errors import InputError
from ser_core.scoring.crosscorpus import describe, score_shared, shared_labels

MODEL_LABELS = ["calm", "sad", "angry", "happy"]


def test_shared_labels_in_display_order():
    assert shared_labels(MODEL_LABELS, ["boredom", "angry", "sad", "sad"]) == ["sad", "angry"]


def test_scoring_by_hand_restricts_the_choice_and_counts_what_was_left_out():
    probabilities = np.array([
        [0.60, 0.30, 0.10, 0.00],  # true sad: free choice says calm (not in the corpus); restricted says sad
        [0.10, 0.20, 0.70, 0.00],  # true angry: angry
        [0.05, 0.50, 0.05, 0.40],  # true happy: sad (an error either way)
        [0.25, 0.25, 0.25, 0.25],  # true boredom: left out
        [0.10, 0.10, 0.10, 0.70],  # true boredom: left out
    ])
    score = score_shared(probabilities, model_labels=MODEL_LABELS, y_true=["sad", "angry", "happy", "boredom", "boredom"])
    metrics = score.metrics
    assert metrics["shared_labels"] == metrics["labels"] == ["happy", "sad", "angry"]
    assert (metrics["left_out"], metrics["n_left_out"], metrics["model_only_labels"]) == ({"boredom": 2}, 2, ["calm"])
    assert metrics["n_clips"] == 3 and metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["unrestricted_accuracy"] == pytest.approx(1 / 3) and metrics["n_outside"] == 1
    assert metrics["confusion"] == [[0, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert metrics["uar"] == pytest.approx((0 + 1 + 1) / 3)
    assert score.kept.tolist() == [True, True, True, False, False]
    np.testing.assert_allclose(score.probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(score.probabilities[0], [0.0, 0.75, 0.25])
    text = describe(metrics)
    assert "3 shared labels (happy, sad, angry)" in text and "left out 2 clips" in text and "boredom 2" in text
    assert "not offered: calm" in text


@pytest.mark.parametrize("y_true, match", [
    (["boredom", "joy"], "share 0 label"),
    (["sad", "joy"], r"share 1 label\(s\) \(sad\)"),
])
def test_too_few_shared_labels_say_how_to_map_them(y_true, match):
    with pytest.raises(InputError, match=match) as caught:
        score_shared(np.full((2, 4), 0.25), model_labels=MODEL_LABELS, y_true=y_true)
    assert "--labels-map" in str(caught.value)


def test_probabilities_must_match_the_clips_and_labels():
    with pytest.raises(InputError, match="expected \\(2, 4\\)"):
        score_shared(np.full((2, 3), 0.3), model_labels=MODEL_LABELS, y_true=["sad", "angry"])


def test_evaluating_a_ravdess_model_on_an_emodb_named_folder(app_models, tiny_emodb):
    """The issue's case: boredom is left out and counted, calm and surprised are no rows, and it says so."""
    from ser_core.modelfolder.read import load_model
    from ser_core.scoring.crosscorpus import evaluate_model

    metrics = evaluate_model(load_model(app_models / "tiny-logreg", trust=True), tiny_emodb)
    assert metrics["corpus"] == "emodb"
    assert metrics["shared_labels"] == metrics["labels"] == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]
    assert metrics["left_out"] == {"boredom": 4} and metrics["n_clips"] == 24
    assert metrics["model_only_labels"] == ["calm", "surprised"]
    assert np.asarray(metrics["confusion"]).shape == (6, 6) and np.sum(metrics["confusion"]) == 24
    assert 0 <= metrics["unrestricted_accuracy"] <= metrics["accuracy"] <= 1
