"""What every model family shares: scikit-learn's estimator interface, the fitted check, settings files.

A family subclasses :class:`SERClassifier`, names in ``FITTED_ATTRIBUTE`` what ``fit`` or
``load`` creates, and implements ``fit``, ``predict_proba``, ``save`` and ``load``.
:func:`require_files` and :func:`settings_file` give every ``load`` the same messages.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ser_core.errors import ModelError, NotFittedError


class SERClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier whose ``predict`` is the most probable of ``predict_proba``."""

    #: The attribute ``fit`` or ``load`` sets; without it the model is not fitted.
    FITTED_ATTRIBUTE = "classes_"

    def _check_fitted(self):
        """Raise NotFittedError unless fit (or load) has run."""
        if not hasattr(self, self.FITTED_ATTRIBUTE):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) or load(folder) first")

    def predict(self, X):
        """The most likely label per clip."""
        probabilities = self.predict_proba(X)  # first: it raises NotFittedError before classes_ exists
        return self.classes_[np.argmax(probabilities, axis=1)]


def require_files(folder, *names, what: str) -> Path:
    """``folder`` as a Path; ModelError naming the first of ``names`` missing from it."""
    folder = Path(folder)
    for name in names:
        if not (folder / name).is_file():
            raise ModelError(f"{folder / name} is missing; {what} needs {' and '.join(names)}")
    return folder


def write_settings(path, state: dict) -> None:
    """Write a model's settings as indented JSON."""
    Path(path).write_text(json.dumps(state, indent=2) + "\n")


@contextmanager
def settings_file(path):
    """Yield a settings file's JSON; a bad file, or a missing key or bad value read in the block, is a ModelError."""
    try:
        yield json.loads(Path(path).read_text())
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path} is not a valid settings file: {error}") from None
