"""Tests for ser_core.models: the study networks, the estimators and the registry."""

import numpy as np
import pytest

from conftest import requires_keras
from ser_core.errors import InputError, NotFittedError, TrainingCancelled
from ser_core.models.classical import ClassicalClassifier
from ser_core.models.keras_study import KerasClassifier, build_cnn, build_cnn_lstm, build_lstm
from ser_core.models.registry import MODEL_NAMES, make_model, model_family


def _toy(n_per_class=12, n_features=160, seed=0):
    """Separable clip vectors for three emotions."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(["angry", "calm", "sad"], n_per_class)
    X = rng.normal(size=(len(labels), n_features)).astype(np.float32)
    X[:, :10] += np.searchsorted(["angry", "calm", "sad"], labels)[:, None] * 3.0
    return X, labels


@requires_keras
@pytest.mark.parametrize(
    "build, total, non_trainable",
    [(build_lstm, 305_864, 0), (build_cnn, 166_984, 896), (build_cnn_lstm, 378_344, 896)],
)
def test_study_parameter_counts(build, total, non_trainable):
    model = build((160, 1), 8)
    assert model.count_params() == total
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == non_trainable
    assert all(not layer.name.startswith(("dense_", "conv1d_", "lstm_")) for layer in model.layers)


@requires_keras
@pytest.mark.parametrize("build", [build_lstm, build_cnn, build_cnn_lstm])
def test_same_families_on_frame_sequences(build):
    model = build((128, 160), 8)
    assert model.output_shape == (None, 8)


@requires_keras
@pytest.mark.parametrize("shape, n_classes", [((160,), 8), ((160, 1, 1), 8), ((0, 1), 8), ((160, 1), 1)])
def test_builders_reject_bad_shapes(shape, n_classes):
    with pytest.raises(InputError):
        build_cnn(shape, n_classes)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_raises_not_fitted(name):
    model = make_model(name)
    with pytest.raises(NotFittedError):
        model.predict_proba(np.zeros((1, 160)))
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((1, 160)))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_is_a_scikit_learn_estimator(name):
    from sklearn.base import clone, is_classifier

    model = make_model(name)
    copy = clone(model)
    assert is_classifier(model) and type(copy) is type(model) and copy is not model
    assert copy.get_params(deep=True) == model.get_params(deep=True) == model.get_params()
    setting = next(iter(model.get_params()))
    assert copy.set_params(**{setting: model.get_params()[setting]}) is copy


def test_scikit_learn_tools_run_the_estimators():
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _toy(n_features=20)
    for name in ("logistic_regression", "adaptive_linear"):
        scores = cross_val_score(make_pipeline(StandardScaler(), make_model(name)), X, y, cv=3)
        assert scores.shape == (3,) and scores.mean() > 0.9, name


def test_registry_rejects_unknown_names():
    with pytest.raises(InputError, match="unknown model"):
        make_model("transformer")
    assert model_family("cnn") == "keras" and model_family("svm") == "sklearn"


@pytest.mark.parametrize("kind", ["random_forest", "svm", "logistic_regression", "mlp"])
def test_classical_models_fit_predict_save_load(kind, tmp_path, monkeypatch):
    import pickle

    import joblib

    X, y = _toy()
    model = make_model(kind, seed=0)
    assert model.fit(X, y) is model
    assert list(model.classes_) == ["angry", "calm", "sad"]
    probabilities = model.predict_proba(X)
    assert probabilities.shape == (len(X), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.mean(model.predict(X) == y) > 0.9
    assert model.pipeline_.steps[0][0] == "scale"
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sklearn_pipeline.json", "sklearn_pipeline.npz"]

    def no_pickle(*args, **kwargs):
        raise AssertionError("a scikit-learn model must load without pickle")

    for module, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (joblib, "load")):
        monkeypatch.setattr(module, name, no_pickle)
    loaded = ClassicalClassifier.load(tmp_path, kind=kind)
    np.testing.assert_array_equal(loaded.predict_proba(X), probabilities)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert list(loaded.classes_) == list(model.classes_) and loaded.n_parameters_ == model.n_parameters_


@pytest.mark.parametrize("X, y", [(np.zeros((3, 4)), ["a", "b"]), (np.zeros((2, 4)), ["a", "a"]), (np.zeros(4), ["a"])])
def test_classical_rejects_bad_training_data(X, y):
    with pytest.raises(InputError):
        make_model("random_forest").fit(X, y)


@requires_keras
def test_keras_classifier_trains_reports_and_round_trips(tmp_path):
    X, y = _toy()
    records = []
    model = KerasClassifier(architecture="cnn", epochs=2, batch_size=8, seed=3, loss="focal")
    assert model.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2], progress=records.append) is model
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert records[0]["lr"] == pytest.approx(1e-3)
    assert model.history_["val_loss"] == [r["val_loss"] for r in records]
    probabilities = model.predict_proba(X)
    assert probabilities.shape == (len(X), 3)
    model.save(tmp_path)
    assert not list(tmp_path.glob("*.pkl")) and (tmp_path / "model.keras").is_file()
    loaded = KerasClassifier.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(X), probabilities, rtol=1e-6, atol=1e-7)
    assert list(loaded.classes_) == list(model.classes_)


@requires_keras
def test_keras_classifier_is_seeded():
    X, y = _toy(n_per_class=6)
    first = KerasClassifier(architecture="cnn", epochs=1, batch_size=6, seed=7).fit(X, y).predict_proba(X)
    second = KerasClassifier(architecture="cnn", epochs=1, batch_size=6, seed=7).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


@requires_keras
def test_keras_classifier_on_frame_sequences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 20, 6)).astype(np.float32)
    y = np.repeat(["a", "b"], 6)
    model = KerasClassifier(architecture="lstm", epochs=1, batch_size=4).fit(X, y)
    assert model.predict_proba(X).shape == (12, 2)
    with pytest.raises(InputError, match="expects"):
        model.predict_proba(np.zeros((1, 21, 6)))


@requires_keras
def test_keras_classifier_can_be_cancelled():
    X, y = _toy(n_per_class=6)
    with pytest.raises(TrainingCancelled):
        KerasClassifier(architecture="cnn", epochs=5, batch_size=6).fit(X, y, should_stop=lambda: True)


@pytest.mark.parametrize("settings", [{"architecture": "gru"}, {"epochs": 0}, {"learning_rate": 0.0}, {"loss": "hinge"}])
def test_keras_classifier_rejects_bad_settings(settings):
    X, y = _toy(n_per_class=3)
    with pytest.raises(InputError):
        KerasClassifier(**{"epochs": 1, **settings}).fit(X, y)


def test_a_family_whose_framework_is_missing_names_the_training_requirements(monkeypatch):
    from importlib import util

    from ser_core.errors import InputError
    from ser_core.models import registry

    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert registry.missing_training_package("logmel_cnn") == "torch"
    assert registry.missing_training_package("logistic_regression") is None
    with pytest.raises(InputError, match="requirements-train.txt"):
        registry.make_model("logmel_cnn")
