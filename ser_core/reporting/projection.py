"""A corpus drawn on a page: 2-D maps of clip-level features (PCA or t-SNE) on standardised values."""

from __future__ import annotations

import numpy as np

from ser_core.errors import InputError

METHODS = ("PCA", "t-SNE")


def tsne_perplexity(n_points: int) -> float:
    """t-SNE's perplexity for ``n_points``: 30, or less for small sets (it must stay below n / 3)."""
    return float(min(30, max(2, (n_points - 1) // 3)))


def project_2d(X, *, method: str = "PCA", seed: int = 0) -> np.ndarray:
    """2-D coordinates of feature rows ``X`` (clips, values), each value standardised first.

    Examples
    --------
    >>> project_2d(np.random.default_rng(0).normal(size=(20, 5))).shape
    (20, 2)
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    if method not in METHODS:
        raise InputError(f"unknown projection {method!r}; expected one of {', '.join(METHODS)}")
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    if len(X) < 3 or not np.all(np.isfinite(X)):
        raise InputError(f"a 2-D map needs at least 3 clips with finite features; received {len(X)}")
    Z = StandardScaler().fit_transform(X)
    if method == "t-SNE":
        return TSNE(n_components=2, perplexity=tsne_perplexity(len(Z)), init="pca", random_state=seed).fit_transform(Z)
    return PCA(n_components=2, random_state=seed).fit_transform(Z)
