"""Tests for ser_core.train: protocols, validation from training actors, a tiny end-to-end run."""

import numpy as np
import pytest

from ser_core.artifacts import load_model
from ser_core.errors import InputError
from ser_core.train import TrainConfig, run_protocol, save_result, train


@pytest.mark.parametrize(
    "settings",
    [{"model": "gpt"}, {"protocol": "loso"}, {"protocol": "holdout"}, {"epochs": 0}, {"batch_size": 0}],
)
def test_config_rejects_bad_settings(settings):
    with pytest.raises(InputError):
        TrainConfig(**settings)


@pytest.mark.slow
def test_two_epoch_run_gives_a_complete_artifact_with_identical_probabilities(tiny_ravdess, tmp_path):
    records = []
    config = TrainConfig(model="cnn", protocol="kfold", n_folds=3, epochs=2, seed=1)
    result = train(config, data=tiny_ravdess, progress=records.append)
    assert len(result.metrics["folds"]) == 3
    for fold in result.metrics["folds"]:
        assert fold["n_fit_clips"] + fold["n_validation_clips"] == fold["n_train_clips"]
    assert {r["fold"] for r in records} == {1, 2, 3, "final"}
    folder = save_result(result, tmp_path / "cnn")
    model = load_model(folder)
    clip = sorted(tiny_ravdess.glob("*/*.wav"))[0]
    X = model.features(clip)[None]
    np.testing.assert_allclose(model.predict_proba(clip), result.model.predict_proba(X)[0], rtol=1e-5, atol=1e-6)
    assert "5-fold" not in (folder / "MODEL_CARD.md").read_text() and "3-fold" in (folder / "MODEL_CARD.md").read_text()


def test_kfold_test_actors_never_train(tiny_ravdess):
    from ser_core.train import load_dataset

    dataset = load_dataset(tiny_ravdess, feature_kind="MFCC-16000-13")
    metrics = run_protocol(TrainConfig(model="logistic_regression", features="MFCC-16000-13", protocol="kfold", n_folds=3), dataset)
    seen = [actor for fold in metrics["folds"] for actor in fold["test_actors"]]
    assert sorted(seen) == sorted(set(dataset.groups.tolist()))
    assert set(metrics["summary"]) >= {"accuracy", "uar", "macro_f1", "train_accuracy"}


@pytest.mark.slow
def test_wav2vec2_random_forest_with_a_tiny_model(tiny_ravdess, tiny_wav2vec2, tmp_path):
    for pooling in ("last", "all"):
        config = TrainConfig(model="wav2vec2_rf", features=f"W2V2-mean-{pooling}:{tiny_wav2vec2}", protocol="holdout",
                             test_actors=("03",))
        result = train(config, data=tiny_ravdess)
        folder = save_result(result, tmp_path / f"w2v2-{pooling}")
        model = load_model(folder, trust=True)
        clip = sorted(tiny_ravdess.glob("*/*.wav"))[0]
        np.testing.assert_allclose(model.predict_proba(clip), result.model.predict_proba(model.features(clip)[None])[0])
