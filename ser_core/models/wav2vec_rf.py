"""The study's Wav2Vec2 + random forest: pooled Wav2Vec2 hidden states fed to a forest.

The hidden states come from a ``W2V2-...`` feature kind of :mod:`ser_core.features`
(pooled over time; pooling over layers is part of the kind: the last layer, as in the
study, or the mean of all layers, which keeps far more emotion information). This
module holds the classifier half.
"""

from ser_core.models.classical import ClassicalClassifier


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

    def _classifier_params(self):
        """The forest's keyword arguments: ``params`` plus ``n_estimators``."""
        return {**(self.params or {}), "n_estimators": int(self.n_estimators)}
