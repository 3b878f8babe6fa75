"""Tests for ser_core.models.logmel_cnn: the torch 2-D CNN on log-mel spectrograms."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from ser_core.errors import InputError, ModelError, NotFittedError, TrainingCancelled  # noqa: E402
from ser_core.models.logmel_cnn import SETTINGS_FILE, WEIGHTS_FILE, LogMelCNN, build_network  # noqa: E402

#: A network small enough to train in a second on 16 x 24 spectrograms, without augmentation.
SMALL = dict(widths=(4, 4, 4, 4), epochs=12, batch_size=4, precision="fp32", seed=3,
             freq_mask_bands=0, time_mask_frames=0, roll_frames=0)


def _spectrograms(n_per_class=6, seed=0):
    """Two separable emotions: "angry" clips have 20 dB more energy in their low bands."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(["angry", "sad"], n_per_class)
    X = rng.normal(-40, 5, (len(labels), 16, 24)).astype(np.float32)
    X[labels == "angry", :8, :] += 20
    return X, labels


@pytest.fixture(scope="module")
def fitted():
    X, y = _spectrograms()
    return LogMelCNN(**SMALL).fit(X, y, X_val=X[::3], y_val=y[::3]), X, y


def test_the_recipe_network_has_the_published_size():
    network = build_network(64, 8)
    assert sum(p.numel() for p in network.parameters()) == 421_184  # SPEC: about 422k


def test_it_learns_separable_spectrograms_and_records_its_history(fitted):
    model, X, y = fitted
    probabilities = model.predict_proba(X)
    assert probabilities.shape == (12, 2) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert list(model.classes_) == ["angry", "sad"] and np.mean(model.predict(X) == y) >= 0.9
    assert len(model.history_["loss"]) == 12 and model.history_["val_accuracy"][-1] is not None
    assert model.precision_used_ == "fp32"


def test_save_and_load_give_the_same_probabilities_without_a_pickle(fitted, tmp_path):
    model, X, _ = fitted
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([SETTINGS_FILE, WEIGHTS_FILE])
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    loaded = LogMelCNN.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    assert loaded.n_parameters_ == model.n_parameters_ > 0 and loaded.get_params() == model.get_params()


def test_the_same_seed_trains_the_same_network():
    X, y = _spectrograms()
    first = LogMelCNN(**{**SMALL, "epochs": 2}).fit(X, y).predict_proba(X)
    second = LogMelCNN(**{**SMALL, "epochs": 2}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_augmentation_keeps_shapes_and_masks_within_bounds():
    X, _ = _spectrograms()
    model = LogMelCNN(freq_mask_bands=4, time_mask_frames=6, roll_frames=3)
    augmented = model._augment(X, np.random.default_rng(0))
    assert augmented.shape == X.shape and not np.shares_memory(augmented, X)
    for before, after in zip(X, augmented):
        assert np.sum(np.all(after == 0.0, axis=1)) <= 4 and np.sum(np.all(after == 0.0, axis=0)) <= 6


def test_training_can_be_cancelled():
    X, y = _spectrograms()
    with pytest.raises(TrainingCancelled):
        LogMelCNN(**SMALL).fit(X, y, should_stop=lambda: True)


@pytest.mark.parametrize("X, message", [
    (np.zeros((4, 16)), "3-D"),
    (np.full((4, 16, 24), np.nan), "NaN"),
    (np.zeros((4, 8, 24)), "too few"),
])
def test_bad_spectrograms_are_refused(X, message):
    with pytest.raises(InputError, match=message):
        LogMelCNN(**SMALL).fit(X, ["a", "b"] * 2)


@pytest.mark.parametrize("settings", [dict(batch_size=1), dict(learning_rate=1e-2, max_learning_rate=1e-3),
                                      dict(precision="fp8"), dict(widths=(0, 4))])
def test_bad_settings_are_refused(settings):
    X, y = _spectrograms()
    with pytest.raises(InputError):
        LogMelCNN(**{**SMALL, **settings}).fit(X, y)


def test_prediction_checks_the_fitted_shape(fitted):
    model, X, _ = fitted
    with pytest.raises(InputError, match="expects"):
        model.predict_proba(X[:, :, :10])
    with pytest.raises(NotFittedError):
        LogMelCNN().predict_proba(X)


def test_a_damaged_folder_is_named(fitted, tmp_path):
    model, _, _ = fitted
    model.save(tmp_path)
    (tmp_path / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelError, match=WEIGHTS_FILE):
        LogMelCNN.load(tmp_path)
    model.save(tmp_path)
    state = json.loads((tmp_path / SETTINGS_FILE).read_text())
    del state["classes"]
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(state))
    with pytest.raises(ModelError, match="not a valid settings file"):
        LogMelCNN.load(tmp_path)
