"""The evaluation protocols: the study's random split, grouped k-fold by actor, held-out actors.

Every function returns integer index arrays into the clip table. Validation data for
early stopping always comes out of the training indices (never the test set).
:func:`protocol_splits` is the one place a protocol's name becomes its splits;
:func:`declared_split` reads the split a manifest states.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ser_core.errors import InputError


def _as_array(values, *, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise InputError(f"{name} must be a non-empty 1-D sequence; got shape {array.shape}")
    return array


def _check_fraction(value: float, *, name: str) -> None:
    if not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise InputError(f"{name} must be a fraction between 0 and 1 (exclusive); got {value!r}")


def _actor_key(actor):
    """Compare actors loosely: 1, "1" and "01" are the same actor."""
    text = str(actor).strip()
    return int(text) if text.isdigit() else text


def random_split(labels, *, test_size: float = 0.2, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Return the study's stratified random ``(train_idx, test_idx)`` split.

    This is ``train_test_split(..., test_size, stratify=labels, random_state=seed)``,
    so the same actors land in train and test: it measures speaker memorisation as
    much as emotion. Prefer :func:`grouped_kfold` or :func:`holdout_actors`.
    """
    from sklearn.model_selection import train_test_split

    labels = _as_array(labels, name="labels")
    _check_fraction(test_size, name="test_size")
    rarest, count = Counter(labels.tolist()).most_common()[-1]
    if count < 2:
        raise InputError(
            f"class {rarest!r} has {count} clip; a stratified split needs at least 2 per class"
        )
    try:
        train_idx, test_idx = train_test_split(
            np.arange(len(labels)), test_size=test_size, stratify=labels, random_state=seed
        )
    except ValueError as error:
        raise InputError(f"cannot split {len(labels)} clips with test_size={test_size}: {error}") from None
    return train_idx, test_idx


def grouped_kfold(
    groups, *, n_splits: int = 5, labels=None, seed: int = 42
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return speaker-independent ``[(train_idx, test_idx), ...]`` folds by actor.

    Every actor is in exactly one test fold and never in the training part of that
    fold. With ``labels`` the folds are also stratified (``StratifiedGroupKFold``).
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = _as_array(groups, name="groups")
    n_groups = len(np.unique(groups))
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise InputError(f"n_splits must be an integer of at least 2; got {n_splits!r}")
    if n_splits > n_groups:
        raise InputError(
            f"n_splits={n_splits} folds need at least {n_splits} actors; got {n_groups}"
        )
    if labels is None:
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(len(groups)), groups=groups)
    else:
        labels = _as_array(labels, name="labels")
        if len(labels) != len(groups):
            raise InputError(f"labels has {len(labels)} entries but groups has {len(groups)}")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(len(groups)), labels, groups=groups)
    return [(np.sort(train), np.sort(test)) for train, test in folds]


def holdout_actors(groups, *, test_actors) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(train_idx, test_idx)`` with the given actors held out for testing.

    Actors compare loosely, so ``test_actors=[21, 22]`` matches groups ``"21"``, ``"22"``.
    """
    groups = _as_array(groups, name="groups")
    if isinstance(test_actors, (str, int, np.integer)):
        test_actors = [test_actors]
    wanted = {_actor_key(actor) for actor in test_actors}
    if not wanted:
        raise InputError("test_actors is empty; name at least one actor to hold out")
    keys = np.array([_actor_key(actor) for actor in groups], dtype=object)
    present = set(keys.tolist())
    missing = sorted(map(str, wanted - present))
    if missing:
        available = ", ".join(sorted(map(str, np.unique(groups))))
        raise InputError(f"test actor(s) {', '.join(missing)} not in the data; actors present: {available}")
    if wanted >= present:
        raise InputError("every actor is a test actor; leave at least one actor for training")
    is_test = np.array([key in wanted for key in keys])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def validation_split(
    train_idx,
    *,
    labels,
    groups,
    fraction: float = 0.15,
    seed: int = 42,
    speaker_independent: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Split training indices into ``(fit_idx, val_idx)``, validation from training actors only.

    Parameters
    ----------
    train_idx : array of int
        Indices (into ``labels`` and ``groups``) available for training.
    labels, groups : array-like
        Emotion and actor of every clip (full length, not just the training part).
    fraction : float
        Share of the training clips (or, speaker-independent, of the training actors)
        used for validation.
    seed : int
        Random seed.
    speaker_independent : bool
        Hold out whole actors (at least one) so validation measures generalisation to
        new speakers; otherwise a stratified random subset of the clips (unstratified
        when a class has fewer than two training clips).

    Returns
    -------
    tuple of np.ndarray
        ``fit_idx`` and ``val_idx``: disjoint, sorted, and together equal to ``train_idx``.
    """
    train_idx = _as_array(train_idx, name="train_idx").astype(np.int64)
    labels = _as_array(labels, name="labels")
    _check_fraction(fraction, name="fraction")
    if train_idx.min() < 0 or train_idx.max() >= len(labels):
        raise InputError(f"train_idx must index into {len(labels)} clips; got values up to {train_idx.max()}")
    rng = np.random.default_rng(seed)
    if speaker_independent:
        if groups is None:
            raise InputError("groups (the actor of each clip) are needed for a speaker-independent validation split")
        groups = _as_array(groups, name="groups")
        if len(groups) != len(labels):
            raise InputError(f"labels has {len(labels)} entries but groups has {len(groups)}")
        actors = np.unique(groups[train_idx])
        if len(actors) < 2:
            raise InputError(
                f"the training part has {len(actors)} actor; a speaker-independent validation split "
                "needs at least 2 (or pass speaker_independent=False)"
            )
        n_val = min(len(actors) - 1, max(1, int(round(fraction * len(actors)))))
        val_actors = rng.choice(actors, size=n_val, replace=False)
        is_val = np.isin(groups[train_idx], val_actors)
    else:
        n_val = max(1, int(round(fraction * len(train_idx))))
        if n_val >= len(train_idx):
            raise InputError(f"cannot take a validation part from {len(train_idx)} training clips")
        is_val = _stratified_mask(labels[train_idx], n_val=n_val, rng=rng)
    return np.sort(train_idx[~is_val]), np.sort(train_idx[is_val])


def _stratified_mask(labels: np.ndarray, *, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask choosing n_val positions, proportionally per class where possible."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    counts = Counter(labels.tolist())
    can_stratify = min(counts.values()) >= 2 and len(counts) <= n_val <= len(labels) - len(counts)
    stratify = labels if can_stratify else None
    seed = int(rng.integers(2**31 - 1))
    _, val = train_test_split(positions, test_size=n_val, stratify=stratify, random_state=seed)
    mask = np.zeros(len(labels), dtype=bool)
    mask[val] = True
    return mask


def protocol_splits(protocol: str, *, labels, groups, n_folds: int = 5, seed: int = 42, test_size: float = 0.2,
                    test_actors=()) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``[(train_idx, test_idx), ...]`` of a protocol by name (``random``, ``kfold`` or ``holdout``).

    Raises InputError for a protocol with no split of one corpus (``cross_corpus``
    tests on another corpus) or an unknown name.
    """
    if protocol == "random":
        return [random_split(labels, test_size=test_size, seed=seed)]
    if protocol == "kfold":
        return grouped_kfold(groups, n_splits=int(n_folds), labels=labels, seed=seed)
    if protocol == "holdout":
        return [holdout_actors(groups, test_actors=test_actors)]
    if protocol == "cross_corpus":
        raise InputError("the cross_corpus protocol has no split of the training corpus: its test clips come "
                         "from another corpus")
    raise InputError(f"unknown protocol {protocol!r}; expected random, kfold or holdout")


def declared_split(values) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, test_idx)`` from a manifest's split column: train and validation rows train, test rows test.

    Rows with no split are on neither side. Raises InputError when no row is on one of the sides.
    """
    import pandas as pd

    values = np.asarray(["" if pd.isna(value) else str(value) for value in values])
    train_idx = np.flatnonzero(np.isin(values, ("train", "validation")))
    test_idx = np.flatnonzero(values == "test")
    if not len(train_idx) or not len(test_idx):
        raise InputError(f"the split column puts {len(train_idx)} clips in training and {len(test_idx)} in test; "
                         "expected some of each (values train, validation, test)")
    return train_idx, test_idx
