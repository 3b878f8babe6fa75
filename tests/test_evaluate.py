"""Tests for ser_core.scoring.metrics: metrics, fold summaries, sizes and latency."""

import numpy as np
import pytest

from ser_core.errors import InputError
from ser_core.scoring.latency import latency_per_clip_ms
from ser_core.scoring.metrics import evaluate_predictions, format_report, pool_fold_confusions, summarize_folds

LABELS = ["neutral", "happy", "sad"]


def test_evaluate_predictions_by_hand():
    y_true = ["neutral", "neutral", "happy", "happy", "happy", "sad"]
    y_pred = ["neutral", "happy", "happy", "happy", "sad", "sad"]
    metrics = evaluate_predictions(y_true, y_pred, labels=LABELS)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["uar"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert metrics["confusion"] == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]  # rows = true
    assert metrics["per_class"]["happy"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    f1_sad = 2 * 0.5 * 1 / 1.5
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + f1_sad) / 3)
    assert (metrics["best_emotion"], metrics["worst_emotion"], metrics["ranked_by"]) == ("sad", "neutral", "recall")
    assert "precision" in format_report(metrics)


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        (["neutral"], ["neutral", "sad"], "equal-length"),
        ([], [], "non-empty"),
        (["angry"], ["angry"], "not in labels"),
    ],
)
def test_evaluate_predictions_rejects_bad_input(y_true, y_pred, match):
    with pytest.raises(InputError, match=match):
        evaluate_predictions(y_true, y_pred, labels=LABELS)


def test_uar_ignores_classes_without_support():
    metrics = evaluate_predictions(["happy", "sad"], ["happy", "happy"], labels=LABELS)
    assert metrics["uar"] == pytest.approx(0.5)
    assert metrics["per_class"]["neutral"]["support"] == 0


def test_summarize_folds_mean_and_std():
    summary = summarize_folds([{"accuracy": 0.5, "uar": 0.4, "macro_f1": 0.3}, {"accuracy": 0.7, "uar": 0.6, "macro_f1": 0.5}])
    assert summary["accuracy"] == pytest.approx({"mean": 0.6, "std": 0.1, "n": 2})
    assert "train_accuracy" not in summary
    with pytest.raises(InputError):
        summarize_folds([])


def test_pooling_fold_confusions_equals_scoring_all_clips_at_once():
    folds = [(["neutral", "happy"], ["neutral", "sad"]), (["sad", "happy", "happy"], ["sad", "happy", "neutral"])]
    per_fold = [evaluate_predictions(t, p, labels=LABELS) for t, p in folds]
    pooled = pool_fold_confusions(per_fold)
    everything = evaluate_predictions(sum((t for t, _ in folds), []), sum((p for _, p in folds), []), labels=LABELS)
    assert pooled["confusion"] == everything["confusion"]
    assert pooled["accuracy"] == pytest.approx(everything["accuracy"])
    assert pool_fold_confusions([]) is None


class _CountingModel:
    def __init__(self):
        self.calls = []

    def predict_audio(self, y, *, sample_rate):
        self.calls.append((len(y), sample_rate))
        return None


def test_latency_times_a_3s_clip_with_warmup():
    model = _CountingModel()
    latency_ms = latency_per_clip_ms(model, repeats=4)
    assert latency_ms >= 0
    assert model.calls == [(48000, 16000)] * 5
    with pytest.raises(InputError):
        latency_per_clip_ms(model, repeats=0)
