"""scikit-learn classifiers on clip-level features, each standardised inside its pipeline.

Random forest, SVM, logistic regression and MLP. The wrapper gives them the same
habits as the Keras models (``classes_``, ``NotFittedError`` before ``fit``,
``save(folder)`` / ``load(folder)``). The fitted pipeline is saved as plain arrays and JSON
(:mod:`ser_core.models.sklearn_state`), so a folder loads from anywhere without pickle.
Folders of earlier releases hold a joblib pickle (``model.joblib``), which still loads,
but only from a folder you trust (``ser_core.modelfolder.read`` enforces that).
"""

from pathlib import Path

import numpy as np
from ser_core.errors import InputError, ModelError
from ser_core.models.base import SERClassifier, require_files

#: The pipeline's state: ``sklearn_pipeline.json`` and ``sklearn_pipeline.npz`` (no pickle).
STATE_NAME = "sklearn_pipeline"
STATE_FILES = (f"{STATE_NAME}.json", f"{STATE_NAME}.npz")
#: The joblib pickle earlier releases wrote (read from trusted folders only).
PICKLE_FILE = "model.joblib"
KINDS = ("random_forest", "svm", "logistic_regression", "mlp")


def _make_estimator(kind, *, seed, params):
    """Return the unfitted scikit-learn classifier of one kind."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC

    if kind == "random_forest":
        return RandomForestClassifier(**{"n_estimators": 300, "n_jobs": 1, "random_state": seed, **params})
    if kind == "svm":
        return SVC(**{"C": 10.0, "kernel": "rbf", "probability": True, "random_state": seed, **params})
    if kind == "logistic_regression":
        return LogisticRegression(**{"C": 1.0, "max_iter": 2000, "random_state": seed, **params})
    if kind == "mlp":
        return MLPClassifier(
            **{"hidden_layer_sizes": (256, 128), "alpha": 1e-3, "max_iter": 500,
               "early_stopping": True, "random_state": seed, **params}
        )
    raise InputError(f"unknown classical model {kind!r}; expected one of {KINDS}")


def make_pipeline(kind, *, seed=42, **params):
    """Return ``StandardScaler -> classifier`` for ``kind`` (extra ``params`` go to the classifier)."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("classify", _make_estimator(kind, seed=seed, params=params))])


def _as_matrix(X):
    """Return features as a finite float matrix (clips, values)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 3:
        X = X.reshape(len(X), -1)
    if X.ndim != 2:
        raise InputError(f"features must be 2-D (clips, values), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputError("features contain NaN or infinity")
    return X


class ClassicalClassifier(SERClassifier):
    """A standardised scikit-learn classifier with the package's estimator habits.

    Parameters
    ----------
    kind : {"random_forest", "svm", "logistic_regression", "mlp"}
        The classifier family.
    seed : int
        ``random_state`` of the classifier.
    params : dict, optional
        Extra keyword arguments for the scikit-learn classifier.
    """

    FITTED_ATTRIBUTE = "pipeline_"

    def __init__(self, *, kind="random_forest", seed=42, params=None):
        self.kind = kind
        self.seed = seed
        self.params = params

    def _classifier_params(self):
        """Keyword arguments of the scikit-learn classifier."""
        return dict(self.params or {})

    def fit(self, X, y, *, sample_weight=None, X_val=None, y_val=None, progress=None, should_stop=None):
        """Fit the pipeline; validation data, progress and should_stop are accepted for a common signature.

        ``sample_weight``: one weight per clip for the classifier (e.g. so that several
        corpora count equally); the standardisation is fitted unweighted.
        """
        X = _as_matrix(X)
        y = np.asarray(y)
        if len(X) != len(y) or len(X) == 0:
            raise InputError(f"X has {len(X)} clips and y has {len(y)} labels; expected the same non-zero count")
        if len(np.unique(y)) < 2:
            raise InputError(f"training needs at least 2 classes, got {np.unique(y).tolist()}")
        weights = {}
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(y),) or not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
                raise InputError(f"sample_weight must hold one finite weight >= 0 per clip ({len(y)}); received "
                                 f"shape {sample_weight.shape}")
            weights = {"classify__sample_weight": sample_weight}
        pipeline = make_pipeline(self.kind, seed=self.seed, **self._classifier_params())
        try:
            pipeline.fit(X, y, **weights)
        except (ValueError, TypeError) as error:
            raise ModelError(f"{self.kind} could not be trained: {error}") from error
        self.pipeline_ = pipeline
        self.classes_ = pipeline.classes_
        self.history_ = {}
        if progress is not None:
            progress({"epoch": 1, "accuracy": float(np.mean(pipeline.predict(X) == y))})
        return self

    def predict_proba(self, X):
        """Return class probabilities, shape ``(n_clips, n_classes)``, columns in ``classes_`` order."""
        self._check_fitted()
        return self.pipeline_.predict_proba(_as_matrix(X)).astype(np.float32)

    @property
    def n_parameters_(self):
        """Number of learned values (tree nodes, coefficients or support vectors x features)."""
        self._check_fitted()
        model = self.pipeline_.named_steps["classify"]
        if hasattr(model, "estimators_"):
            return int(sum(tree.tree_.node_count for tree in model.estimators_))
        if hasattr(model, "coefs_"):
            return int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))
        if hasattr(model, "support_vectors_"):
            return int(model.support_vectors_.size + model.dual_coef_.size)
        return int(model.coef_.size + model.intercept_.size)

    def save(self, folder):
        """Write the fitted pipeline as plain arrays and JSON (``sklearn_pipeline.json`` / ``.npz``)."""
        from ser_core.models.sklearn_state import save_state

        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_state(self.pipeline_, folder / STATE_NAME)
        return folder

    @classmethod
    def load(cls, folder, **settings):
        """Load a pipeline saved by :meth:`save` (or an earlier release's pickle: only for trusted folders)."""
        from ser_core.models.sklearn_state import load_state

        folder = Path(folder)
        if (folder / PICKLE_FILE).is_file() and not (folder / STATE_FILES[0]).is_file():
            pipeline = _load_pickle(folder / PICKLE_FILE)
        else:
            pipeline = load_state(require_files(folder, *STATE_FILES, what="a scikit-learn model folder") / STATE_NAME)
        estimator = cls(**settings)
        estimator.pipeline_ = pipeline
        estimator.classes_ = pipeline.classes_
        estimator.history_ = {}
        return estimator


def _load_pickle(path):
    """An earlier release's joblib pipeline (a pickle: the caller has checked the folder is trusted)."""
    import joblib

    try:
        return joblib.load(path)
    except Exception as error:  # joblib/pickle raise many types for damaged files
        raise ModelError(f"{path} could not be loaded: {error}") from error
