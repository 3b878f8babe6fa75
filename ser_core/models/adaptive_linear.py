"""Standardised multinomial logistic regression on clip functionals, with a speaker-adapted head.

The issue-5 default model (see ``results/accuracy.md``): ComParE_2016 functionals ->
z-scoring -> L2 logistic regression. Two heads are learned:

* the *single-clip* head uses population statistics from the training clips, so one
  clip of an unknown speaker can be classified; with ``nuisance_dims`` it first projects out
  the directions along which the training speakers' mean features differ most (nuisance
  attribute projection), and with ``copy_dims`` those along which augmented copies move
  from their clips (what noise does to the features), both folded into its weights;
* the *speaker-adapted* head (learned when ``fit`` gets ``speakers``) is trained on
  features z-scored per training speaker; at prediction time the test speaker's
  statistics come from that speaker's own unlabelled clips
  (:class:`ser_core.models.speaker_stats.SpeakerNormalizer`).

Weights are plain arrays in ``adaptive_linear.npz`` plus ``adaptive_linear.json``: no pickle.
"""

import json
from pathlib import Path

import numpy as np

from ser_core.errors import ArtifactError, InputError, NotFittedError, TrainingCancelled
from ser_core.models.base import SERClassifier, write_settings
from ser_core.models.speaker_stats import SpeakerNormalizer, SpeakerStats, apply_speaker_stats, fit_speaker_stats

WEIGHTS_FILE = "adaptive_linear.npz"
SETTINGS_FILE = "adaptive_linear.json"


def _as_matrix(X):
    """Return features as a finite float matrix (clips, values); NaN-free input is expected."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise InputError(f"features must be a non-empty 2-D array (clips, values); received shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputError("features contain NaN or infinity; expected finite values")
    return X


def _softmax(z):
    """Row-wise softmax."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _nuisance_basis(Z, speakers, dims):
    """``(values, d)``: the top principal directions of the speakers' mean rows of ``Z``.

    ``d`` is ``dims``, or one fewer than the speakers where they are not more than ``dims``:
    n speakers' means span at most n - 1 directions.
    """
    names, codes = np.unique(np.asarray(speakers), return_inverse=True)
    if len(names) < 2:
        raise InputError(f"projecting out speaker directions needs at least 2 training speakers; received {len(names)}")
    dims = min(dims, len(names) - 1)
    means = np.zeros((len(names), Z.shape[1]))
    np.add.at(means, codes, Z)
    means /= np.bincount(codes)[:, None]
    _, _, vt = np.linalg.svd(means - means.mean(axis=0), full_matrices=False)
    return vt[:dims].T


def _copy_basis(Z, Z_extra, dims):
    """``(values, dims)``: the top principal directions (uncentred) of the copies' differences from their rows.

    ``Z_extra`` holds whole blocks of copies of ``Z``'s rows, in the same order
    (:meth:`AdaptiveLinearClassifier._check_copy_dims`).
    """
    differences = Z_extra - np.tile(Z, (len(Z_extra) // len(Z), 1))
    values, vectors = np.linalg.eigh(differences.T @ differences)
    return vectors[:, np.argsort(values)[::-1][:min(dims, Z.shape[1])]]


def _projection(Z, Z_extra, *, speakers, nuisance_dims, copy_dims):
    """An orthonormal basis of every direction to project out (speakers' and copies'), or None."""
    parts = ([_nuisance_basis(Z, speakers, nuisance_dims)] if nuisance_dims else []) + \
        ([_copy_basis(Z, Z_extra, copy_dims)] if copy_dims else [])
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    u, singular, _ = np.linalg.svd(np.hstack(parts), full_matrices=False)
    return u[:, singular > singular[0] * 1e-10]


def _fit_head(X, y, *, C, max_iter, class_weight=None, sample_weight=None, X_extra=None, y_extra=None,
              speakers=None, nuisance_dims=0, copy_dims=0):
    """Fit standardisation + logistic regression; return (mean, scale, coef, intercept).

    The standardisation comes from ``X`` alone; ``X_extra`` / ``y_extra`` (augmented copies)
    only add training rows. With far fewer rows than features (at most half) the
    regression is solved in the rows' SVD coordinates: an L2-penalised linear model's
    weights lie in the row space, so this is the same optimum, reached several times faster.
    ``sample_weight`` (one per row of ``X``) is repeated for the extra rows, which are
    copies of ``X``'s rows in the same order. ``nuisance_dims`` > 0: the standardised rows (and
    the extra rows) lose their components along :func:`_nuisance_basis` of ``speakers`` (one per
    row of ``X``) before the fit; ``copy_dims`` > 0: likewise along :func:`_copy_basis` of the
    extra rows. The returned weights include that projection.
    """
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    Z = (X - mean) / scale
    Z_extra = None if X_extra is None else (X_extra - mean) / scale
    nuisance = _projection(Z, Z_extra, speakers=speakers, nuisance_dims=nuisance_dims, copy_dims=copy_dims)
    if nuisance is not None:
        Z = Z - (Z @ nuisance) @ nuisance.T
        Z_extra = None if Z_extra is None else Z_extra - (Z_extra @ nuisance) @ nuisance.T
    if Z_extra is not None:
        if sample_weight is not None:
            sample_weight = np.resize(sample_weight, len(Z) + len(Z_extra))
        Z, y = np.vstack([Z, Z_extra]), np.concatenate([y, y_extra])
    basis = None
    if 2 * Z.shape[0] <= Z.shape[1]:
        _, singular, vt = np.linalg.svd(Z, full_matrices=False)
        basis = vt[singular > singular[0] * 1e-10].T
        Z = Z @ basis
    clf = LogisticRegression(C=C, max_iter=max_iter, class_weight=class_weight)
    clf.fit(Z, y, sample_weight=sample_weight)
    coef, intercept = clf.coef_, clf.intercept_
    if basis is not None:
        coef = coef @ basis.T
    if nuisance is not None:  # logits of projected rows: (Z P) coef' = Z (coef P)', P = I - U U'
        coef = coef - (coef @ nuisance) @ nuisance.T
    if coef.shape[0] == 1:  # two classes: sklearn keeps one logit z; softmax([-z/2, z/2]) = sigmoid(z)
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    return mean, scale, coef, intercept


class AdaptiveLinearClassifier(SERClassifier):
    """Logistic regression on standardised functionals, optionally speaker-adapted.

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    max_iter : int
        Iterations of the lbfgs solver.
    prior_clips : float
        Shrinkage of a speaker's statistics toward the population's, in clips
        (helps when a speaker has only a few enrolment clips).
    class_weight : None or "balanced"
        None weighs every clip equally; "balanced" weighs each class inversely to its
        number of training clips (RAVDESS has half as many neutral clips), for both heads.
    nuisance_dims : int
        Directions of the training speakers' mean features (their top principal components)
        projected out of the single-clip head's input, at most one fewer than the training
        speakers; 0 keeps every direction. Needs ``speakers`` in :meth:`fit`
        (results/speaker_nuisance.md).
    copy_dims : int
        Directions along which the augmented copies' features move from their clips' (the top
        principal directions of the differences) projected out of the single-clip head's input,
        so that it cannot use what the corruption changes; 0 keeps every direction. Needs
        ``X_augmented`` holding copies of every clip in :meth:`fit` (results/noise_directions.md).
    """

    def __init__(self, *, C=0.1, max_iter=3000, prior_clips=0.0, class_weight=None, nuisance_dims=0, copy_dims=0):
        self.C = C
        self.max_iter = max_iter
        self.prior_clips = prior_clips
        self.class_weight = class_weight
        self.nuisance_dims = nuisance_dims
        self.copy_dims = copy_dims

    @property
    def n_parameters_(self):
        """Number of learned weights (both heads, standardisation included)."""
        self._check_fitted()
        heads = [self.single_] + ([self.adapted_] if self.adapted_ is not None else [])
        return int(sum(sum(np.size(a) for a in head) for head in heads))

    def fit(self, X, y, *, speakers=None, sample_weight=None, X_augmented=None, y_augmented=None, X_val=None,
            y_val=None, progress=None, should_stop=None):
        """Learn the single-clip head, and the speaker-adapted head when speakers are given; return self.

        ``X_augmented`` / ``y_augmented``: extra training rows for the single-clip head only,
        e.g. features of speed-perturbed copies of the training clips
        (:mod:`ser_core.audio.augment`). The speaker-adapted head keeps the original clips: a
        perturbed copy is another voice and would blur its speaker's statistics.
        ``sample_weight``: one weight per clip of ``X`` (e.g. so that several corpora count
        equally), repeated for its augmented copies.

        ``X_val``, ``y_val``, ``progress`` and ``should_stop`` give the signature every
        ser_core model shares (nothing is early-stopped here); ``should_stop()`` returning
        True before a head is fitted raises :class:`~ser_core.errors.TrainingCancelled`.
        """
        if self.class_weight not in (None, "balanced"):
            raise InputError(f"class_weight must be None or 'balanced'; received {self.class_weight!r}")
        X = _as_matrix(X)
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise InputError(f"y must have one label per clip: {X.shape[0]} clips, y has shape {y.shape}")
        classes = np.unique(y)
        if len(classes) < 2:
            raise InputError(f"need at least 2 classes to train; received {len(classes)}")
        X_augmented, y_augmented = self._check_augmented(X_augmented, y_augmented, X.shape[1], classes)
        sample_weight = self._check_weights(sample_weight, len(y))
        nuisance_dims = self._check_nuisance(speakers, len(y))
        copy_dims = self._check_copy_dims(X_augmented, len(y))
        self._stop_if_asked(should_stop)
        single = _fit_head(X, y, C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
                           sample_weight=sample_weight, X_extra=X_augmented, y_extra=y_augmented,
                           speakers=speakers, nuisance_dims=nuisance_dims, copy_dims=copy_dims)
        adapted = None
        if speakers is not None:
            self._stop_if_asked(should_stop)
            Xs = SpeakerNormalizer(prior_clips=self.prior_clips).fit_transform(X, speakers)
            adapted = _fit_head(Xs, y, C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
                                sample_weight=sample_weight)
        self.single_, self.adapted_ = single, adapted
        self.classes_ = classes
        self.history_ = {}
        self.n_features_in_ = X.shape[1]
        if progress is not None:
            progress({"epoch": 1, "accuracy": float(np.mean(self.predict(X) == y))})
        return self

    @staticmethod
    def _check_augmented(X_augmented, y_augmented, n_features, classes):
        """Validate the optional augmented rows; return them as arrays (or None, None)."""
        if X_augmented is None and y_augmented is None:
            return None, None
        if X_augmented is None or y_augmented is None:
            raise InputError("X_augmented and y_augmented must be given together")
        X_augmented, y_augmented = _as_matrix(X_augmented), np.asarray(y_augmented)
        if X_augmented.shape[1] != n_features:
            raise InputError(f"X_augmented has {X_augmented.shape[1]} values per clip; X has {n_features}")
        if y_augmented.shape != (X_augmented.shape[0],):
            raise InputError(f"y_augmented must have one label per augmented clip: {X_augmented.shape[0]} clips, "
                             f"y_augmented has shape {y_augmented.shape}")
        unknown = sorted(set(y_augmented.tolist()) - set(classes.tolist()))
        if unknown:
            raise InputError(f"y_augmented has labels {unknown} that are not among the original clips' labels")
        return X_augmented, y_augmented

    def _check_nuisance(self, speakers, n_clips) -> int:
        """The number of speaker directions to project out, checked against the speakers given."""
        dims = self.nuisance_dims
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)) or dims < 0:
            raise InputError(f"nuisance_dims must be a whole number >= 0; received {dims!r}")
        if dims and (speakers is None or np.shape(speakers) != (n_clips,)):
            raise InputError(f"nuisance_dims={dims} needs the speaker of every training clip (speakers=...)")
        return int(dims)

    def _check_copy_dims(self, X_augmented, n_clips) -> int:
        """The number of the copies' directions to project out, checked against the copies given."""
        dims = self.copy_dims
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)) or dims < 0:
            raise InputError(f"copy_dims must be a whole number >= 0; received {dims!r}")
        if dims and (X_augmented is None or len(X_augmented) % n_clips):
            raise InputError(f"copy_dims={dims} needs augmented copies of every training clip (X_augmented: whole "
                             f"blocks of copies of X's {n_clips} rows, in the same order)")
        return int(dims)

    @staticmethod
    def _check_weights(sample_weight, n_clips):
        """Validate optional per-clip weights: finite, non-negative, one per clip, not all zero."""
        if sample_weight is None:
            return None
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (n_clips,) or not np.all(np.isfinite(weights)) or (weights < 0).any() or not weights.any():
            raise InputError(f"sample_weight must hold {n_clips} finite, non-negative weights (not all zero); "
                             f"received shape {weights.shape}")
        return weights

    @staticmethod
    def _stop_if_asked(should_stop):
        """Raise TrainingCancelled when the caller's should_stop() says so."""
        if should_stop is not None and should_stop():
            raise TrainingCancelled("training of adaptive_linear stopped on request")

    def predict_proba(self, X, *, speakers=None, prior_clips=None):
        """Class probabilities (clips, classes); with ``speakers``, each speaker's clips are adapted together.

        ``prior_clips`` (None: the model's setting) shrinks each speaker's statistics toward
        the training population; about 4 keeps a few enrolment clips (2-16) from hurting
        (see results/accuracy.md), 0 needs many clips per speaker.
        """
        self._check_fitted()
        X = _as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"expected {self.n_features_in_} feature values per clip; received {X.shape[1]}")
        if speakers is None:
            mean, scale, coef, intercept = self.single_
            Z = (X - mean) / scale
        else:
            if self.adapted_ is None:
                raise NotFittedError("this model has no speaker-adapted head: fit it with speakers=... first")
            prior = self.prior_clips if prior_clips is None else prior_clips
            Z = self._speaker_normalise(X, np.asarray(speakers), prior_clips=prior)
            mean, scale, coef, intercept = self.adapted_
            Z = (Z - mean) / scale
        return _softmax(Z @ coef.T + intercept)

    def _speaker_normalise(self, X, speakers, *, prior_clips):
        """Z-score each speaker's rows by that speaker's statistics (shrunk toward the training population)."""
        if speakers.shape != (X.shape[0],):
            raise InputError(f"speakers must give one id per clip: {X.shape[0]} clips but speakers has shape {speakers.shape}")
        Z = np.empty_like(X)
        for speaker in np.unique(speakers):
            rows = speakers == speaker
            Z[rows] = apply_speaker_stats(X[rows], self.speaker_stats(X[rows], prior_clips=prior_clips))
        return Z

    def speaker_stats(self, X, *, prior_clips=None):
        """One speaker's feature statistics from their unlabelled clips, shrunk toward the training population.

        ``prior_clips`` (None: the model's setting) is the population's weight in clips.
        """
        self._check_fitted()
        X = _as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"expected {self.n_features_in_} feature values per clip; received {X.shape[1]}")
        # The single-clip head's standardisation is the training population.
        population = SpeakerStats(mean=self.single_[0], std=self.single_[1], n_clips=0)
        prior = self.prior_clips if prior_clips is None else prior_clips
        return fit_speaker_stats(X, prior=population, prior_clips=prior)

    def predict_proba_for_speaker(self, X, stats):
        """Adapted-head probabilities (clips, classes) of clips whose speaker has statistics ``stats``."""
        self._check_fitted()
        if self.adapted_ is None:
            raise NotFittedError("this model has no speaker-adapted head: fit it with speakers=... first")
        mean, scale, coef, intercept = self.adapted_
        Z = (apply_speaker_stats(_as_matrix(X), stats) - mean) / scale
        return _softmax(Z @ coef.T + intercept)

    def predict(self, X, *, speakers=None, prior_clips=None):
        """Most likely class of each clip (arguments as :meth:`predict_proba`)."""
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(X, speakers=speakers, prior_clips=prior_clips), axis=1)]

    def save(self, folder):
        """Write the weights (npz) and settings (json) into an existing folder."""
        self._check_fitted()
        folder = Path(folder)
        arrays = dict(zip(("single_mean", "single_scale", "single_coef", "single_intercept"), self.single_))
        if self.adapted_ is not None:
            arrays.update(zip(("adapted_mean", "adapted_scale", "adapted_coef", "adapted_intercept"), self.adapted_))
        np.savez(folder / WEIGHTS_FILE, **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
        settings = {"params": self.get_params(), "classes": [str(c) for c in self.classes_],
                    "n_features_in": int(self.n_features_in_)}
        write_settings(folder / SETTINGS_FILE, settings)

    @classmethod
    def load(cls, folder):
        """Load a model written by :meth:`save`."""
        folder = Path(folder)
        try:
            settings = json.loads((folder / SETTINGS_FILE).read_text())
            with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as data:
                arrays = {k: data[k].astype(np.float64) for k in data.files}
        except (OSError, ValueError, KeyError) as error:
            raise ArtifactError(f"{folder} does not hold a readable adaptive_linear model: {error}") from None
        model = cls(**settings["params"])
        keys = ("mean", "scale", "coef", "intercept")
        try:
            model.single_ = tuple(arrays[f"single_{k}"] for k in keys)
            model.adapted_ = tuple(arrays[f"adapted_{k}"] for k in keys) if "adapted_mean" in arrays else None
        except KeyError as error:
            raise ArtifactError(f"{folder / WEIGHTS_FILE} is missing array {error}") from None
        model.classes_ = np.array(settings["classes"])
        model.n_features_in_ = int(settings["n_features_in"])
        return model
