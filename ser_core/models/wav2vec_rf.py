"""The study's Wav2Vec2 + random forest: pooled Wav2Vec2 hidden states fed to a forest.

The hidden states come from a ``W2V2-...`` feature kind of :mod:`ser_core.features`
(pooled over time; pooling over layers is part of the kind: the last layer, as in the
study, or the mean of all layers, which keeps far more emotion information). This
module holds the classifier half.
"""

from .classical import ClassicalClassifier


class Wav2Vec2RandomForest(ClassicalClassifier):
    """Random forest on pooled Wav2Vec2 features, standardised inside the pipeline.

    Parameters
    ----------
    n_estimators : int
        Trees in the forest (scikit-learn's default of 100, as the study used it).
    seed : int
        ``random_state`` of the forest.
    params : dict, optional
        Extra keyword arguments for ``RandomForestClassifier``.
    """

    def __init__(self, *, n_estimators=100, seed=42, params=None):
        super().__init__(kind="random_forest", seed=seed, params=params)
        self.n_estimators = n_estimators

    def get_params(self):
        """Return the constructor settings as a dict."""
        return {"n_estimators": self.n_estimators, "seed": self.seed, "params": dict(self.params or {})}

    def fit(self, X, y, *, X_val=None, y_val=None, progress=None, should_stop=None):
        """Fit the forest on pooled Wav2Vec2 features."""
        self.params = {**(self.params or {}), "n_estimators": int(self.n_estimators)}
        return super().fit(X, y, X_val=X_val, y_val=y_val, progress=progress, should_stop=should_stop)

    @classmethod
    def load(cls, folder, **settings):
        """Load a forest saved by :meth:`save` (a pickle: only for trusted folders)."""
        return super().load(folder, **settings)
