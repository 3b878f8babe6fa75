"""Every trainable model by name: ``make_model(name, **params)`` and how each one is saved.

The Keras names (``lstm``, ``cnn``, ``cnn_lstm``) take whatever features they are given:
the study's 160-value clip vector as a ``(160, 1)`` sequence, or frame-level features
``(frames, values)``.
"""

from ser_core.errors import InputError
from ser_core.models.adaptive_linear import AdaptiveLinearClassifier
from ser_core.models.classical import ClassicalClassifier
from ser_core.models.keras_study import ARCHITECTURES, KerasClassifier
from ser_core.models.wav2vec_rf import Wav2Vec2RandomForest

KERAS_MODELS = ARCHITECTURES
#: torch networks, saved as plain arrays (no pickle).
TORCH_MODELS = ("logmel_cnn",)
CLASSICAL_MODELS = ("random_forest", "svm", "logistic_regression", "mlp")
#: Models saved as plain arrays (no pickle): loadable from any folder.
NUMPY_MODELS = ("adaptive_linear",)
#: Families whose native weights need torch or TensorFlow: served from their ONNX export, else
#: from a child process (two such frameworks in one process aborted it).
HEAVY_FAMILIES = ("keras", "torch")
MODEL_NAMES = KERAS_MODELS + TORCH_MODELS + CLASSICAL_MODELS + ("wav2vec2_rf",) + NUMPY_MODELS

#: A short description of each model, for the CLI and the dashboard.
DESCRIPTIONS = {
    "lstm": "study LSTM: LSTM 256 -> Dense 128 -> Dense 64 -> softmax",
    "cnn": "study CNN: 3 x Conv1D/BatchNorm/MaxPool -> global pooling -> Dense 128 -> Dense 64",
    "cnn_lstm": "study CNN+LSTM: 3 x Conv1D blocks -> LSTM 128 -> LSTM 64 -> Dense 64 -> Dense 32",
    "random_forest": "standardised features -> random forest",
    "svm": "standardised features -> RBF support vector machine",
    "logistic_regression": "standardised features -> logistic regression",
    "mlp": "standardised features -> multi-layer perceptron (256, 128)",
    "wav2vec2_rf": "study Wav2Vec2 + random forest on pooled hidden states",
    "adaptive_linear": "standardised functionals -> logistic regression, plus a speaker-adapted head",
    "logmel_cnn": "2-D CNN on log-mel spectrograms (4 conv blocks, SpecAugment, one-cycle schedule)",
}

_STUDY_TRAINING = {"features": "MFCC-16000-40", "epochs": 30, "batch_size": 36, "learning_rate": 1e-3}
#: What a training run uses for each model when a setting is left out: feature kind,
#: preprocessing overrides, and for networks the length and pace of training.
MODEL_DEFAULTS = {
    **{name: dict(_STUDY_TRAINING, preprocess={}) for name in KERAS_MODELS},
    "logmel_cnn": {"features": "LOGMEL-16000-64-300", "preprocess": {"top_db": 30.0}, "epochs": 40,
                   "batch_size": 32, "learning_rate": 1e-3},
    **{name: {"features": "MFCC-16000-40", "preprocess": {}} for name in CLASSICAL_MODELS},
    "wav2vec2_rf": {"features": "W2V2-mean-last", "preprocess": {}},
    "adaptive_linear": {"features": "COMPARE-16000", "preprocess": {}},
}


#: The package each framework-backed model trains with; requirements-train.txt installs them.
TRAINING_PACKAGES = {**{name: "tensorflow" for name in KERAS_MODELS}, **{name: "torch" for name in TORCH_MODELS},
                     "wav2vec2_rf": "transformers"}
TRAINING_REQUIREMENTS = "requirements-train.txt"


def missing_training_package(name):
    """The package model ``name`` needs for training that is not installed here, or None.

    The dashboard's own install (requirements.txt) serves every model through ONNX Runtime
    and trains the scikit-learn families; torch, TensorFlow and transformers come from
    :data:`TRAINING_REQUIREMENTS`.
    """
    _check_name(name)
    return missing_package(TRAINING_PACKAGES.get(name))


def missing_package(package):
    """``package`` when it is named but not installed here, else None."""
    from importlib.util import find_spec

    return package if package and find_spec(package) is None else None


def require_training_package(package, *, what: str) -> None:
    """Raise InputError when ``what`` (e.g. ``"training model 'cnn'"``) needs ``package`` and it is not installed here.

    The message names :data:`TRAINING_REQUIREMENTS`, which installs every such package.
    """
    if missing_package(package):
        raise InputError(f"{what} needs {package}, which is not installed; pip install -r {TRAINING_REQUIREMENTS} "
                         "adds it")


def _check_name(name):
    """Raise InputError for an unknown model name."""
    if name not in MODEL_NAMES:
        raise InputError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def model_family(name):
    """Return ``"keras"``, ``"torch"``, ``"sklearn"`` (a scikit-learn pipeline's state) or ``"numpy"`` (plain arrays): how the model is trained and saved."""
    _check_name(name)
    if name in NUMPY_MODELS:
        return "numpy"
    if name in TORCH_MODELS:
        return "torch"
    return "keras" if name in KERAS_MODELS else "sklearn"


def make_model(name, **params):
    """Return an unfitted estimator for ``name``; ``params`` are its keyword settings.

    Keras models take :class:`~ser_core.models.keras_study.KerasClassifier` settings
    (``loss``, ``epochs``, ``batch_size``, ``learning_rate``, ``seed``, ...); classical
    models take ``seed`` and any scikit-learn keyword (e.g. ``n_estimators``, ``C``).
    """
    _check_name(name)
    require_training_package(TRAINING_PACKAGES.get(name), what=f"training model {name!r}")
    if name in KERAS_MODELS:
        try:
            return KerasClassifier(architecture=name, **params)
        except TypeError as error:
            raise InputError(f"bad settings for {name}: {error}") from None
    if name in TORCH_MODELS:
        from ser_core.models.logmel_cnn import LogMelCNN

        params = {key: value for key, value in params.items() if key not in ("loss", "focal_alpha", "focal_gamma")}
        try:
            return LogMelCNN(**params)
        except TypeError as error:
            raise InputError(f"bad settings for {name}: {error}") from None
    seed = params.pop("seed", 42)
    for keras_only in ("loss", "epochs", "batch_size", "learning_rate", "focal_alpha", "focal_gamma"):
        params.pop(keras_only, None)
    if name in NUMPY_MODELS:
        try:
            return AdaptiveLinearClassifier(**params)
        except TypeError as error:
            raise InputError(f"bad settings for {name}: {error}") from None
    if name == "wav2vec2_rf":
        return Wav2Vec2RandomForest(n_estimators=params.pop("n_estimators", 100), seed=seed, params=params)
    return ClassicalClassifier(kind=name, seed=seed, params=params)


def load_estimator(name, folder, *, settings=None):
    """Load a fitted estimator of model ``name`` from ``folder`` (an earlier release's joblib: trusted folders only)."""
    _check_name(name)
    if name in KERAS_MODELS:
        return KerasClassifier.load(folder)
    if name in NUMPY_MODELS:
        return AdaptiveLinearClassifier.load(folder)
    if name in TORCH_MODELS:
        from ser_core.models.logmel_cnn import LogMelCNN

        return LogMelCNN.load(folder)
    settings = dict(settings or {})
    if name == "wav2vec2_rf":
        return Wav2Vec2RandomForest.load(folder, **settings)
    return ClassicalClassifier.load(folder, kind=name, **settings)
