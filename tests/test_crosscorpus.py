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


# ---------------------------------------------------------------- every model kind, scored on another corpus
@pytest.fixture(scope="module")
def tiny_ensemble(tmp_path_factory, adaptive_models, app_corpus):
    """An ensemble of two members on different features (MFCC-16000-13 and MFCC-16000-20), one speaker-adapted.

    No pickle inside, so it loads from anywhere without --trust.
    """
    from conftest import TINY_ADAPTIVE_MODEL
    from ser_core.data.dataset import load_dataset
    from ser_core.modelfolder.save import save_artifact, save_ensemble
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier

    adaptive = adaptive_models / TINY_ADAPTIVE_MODEL
    root = tmp_path_factory.mktemp("ensemble-artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ser-cache"))
        dataset = load_dataset(app_corpus, feature_kind="MFCC-16000-20")  # the corpus of the adaptive member
        other = AdaptiveLinearClassifier(C=1.0).fit(dataset.X, dataset.labels)
        save_artifact(root / "tiny-mfcc20", other, model_name="adaptive_linear", feature_kind="MFCC-16000-20",
                      latency=False)
        return save_ensemble(root / "tiny-ensemble", [(adaptive, 1.0), (root / "tiny-mfcc20", 1.0)], latency=False)


def test_the_cli_scores_an_ensemble_on_another_corpus(tiny_ensemble, tiny_emodb, capsys):
    """``evaluate`` on an ensemble: each member's features, accuracy and UAR on the shared labels."""
    import json

    from ser_core.cli import main

    assert main(["evaluate", "--model", str(tiny_ensemble), "--data", str(tiny_emodb), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["uar"] <= 1
    assert report["shared_labels"] == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]
    assert report["left_out"] == {"boredom": 4} and report["n_clips"] == 24
    assert report["model_only_labels"] == ["calm", "surprised"]


def test_every_model_kind_answers_the_same_calls(tiny_ensemble, tiny_emodb):
    from ser_core.modelfolder.loaded import EnsembleModel
    from ser_core.modelfolder.read import load_model
    from ser_core.scoring.crosscorpus import evaluate_model
    from ser_core.serving.speakers import SpeakerAdaptation, adapt_to_speaker

    ensemble = load_model(tiny_ensemble)
    assert isinstance(ensemble, EnsembleModel)
    clips = sorted(tiny_emodb.rglob("*.wav"))
    adapted = adapt_to_speaker(ensemble, clips[:4])
    single = ensemble.members[0][0]
    assert isinstance(adapted, SpeakerAdaptation)
    for model in (single, ensemble, adapted):
        metrics = evaluate_model(model, tiny_emodb)
        assert metrics["n_clips"] == 24 and metrics["model"] == model.name
        X = model.stack_features([model.features(clip) for clip in clips[:3]])
        probabilities = model.predict_proba(X)
        predictions = [model.predict_audio(clip) for clip in clips[:3]]
        np.testing.assert_allclose(probabilities, [p.to_array() for p in predictions], atol=1e-6)
        assert list(model.predict(X)) == [p.label for p in predictions]
        assert all(p.model == model.name and p.source == str(clip) for p, clip in zip(predictions, clips))
    with pytest.raises(InputError, match="dict of feature arrays by member name"):
        ensemble.predict_proba(np.ones((2, 5)))
    with pytest.raises(InputError, match="use predict_audio"):
        single.predict_proba(str(clips[0]))
