"""Losses for the Keras models: the study's focal loss for class imbalance."""

from ser_core.errors import InputError

EPSILON = 1e-7


def focal_loss(*, alpha=0.25, gamma=2.0):
    """Return the study's focal loss for integer labels and softmax probabilities.

    Per sample, with cross-entropy ``CE = -log p_true`` and ``pt = exp(-CE)``, the loss is
    ``alpha * (1 - pt) ** gamma * CE``; Keras averages it over the batch.

    Parameters
    ----------
    alpha : float
        Weight of every sample (the study used 0.25); must be positive.
    gamma : float
        Focusing exponent (the study used 2.0; 0 gives ``alpha * CE``); must be >= 0.
    """
    alpha = float(alpha)
    gamma = float(gamma)
    if not alpha > 0:
        raise InputError(f"focal loss alpha must be > 0, got {alpha}")
    if not gamma >= 0:
        raise InputError(f"focal loss gamma must be >= 0, got {gamma}")

    def loss(y_true, y_pred):
        from keras import ops

        n_classes = ops.shape(y_pred)[-1]
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        probabilities = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        p_true = ops.sum(probabilities * ops.one_hot(labels, n_classes), axis=-1)
        cross_entropy = -ops.log(p_true)
        pt = ops.exp(-cross_entropy)
        return alpha * ops.power(1.0 - pt, gamma) * cross_entropy

    loss.__name__ = "focal_loss"
    return loss


def make_loss(name, *, alpha=0.25, gamma=2.0):
    """Return a Keras loss for ``name``: ``"crossentropy"`` or ``"focal"``."""
    if name == "crossentropy":
        return "sparse_categorical_crossentropy"
    if name == "focal":
        return focal_loss(alpha=alpha, gamma=gamma)
    raise InputError(f"unknown loss {name!r}; expected 'crossentropy' or 'focal'")
