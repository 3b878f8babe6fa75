"""Speaker statistics: per-speaker feature normalisation estimated from unlabelled clips.

A speaker's statistics (mean and standard deviation of each feature) are estimated from
that speaker's own clips, without labels, and applied to the same speaker's clips. With only
a few enrolment clips the estimates are noisy, so they can be shrunk toward population
statistics (``prior_clips`` pseudo-clips of the population mean and variance).
"""

from dataclasses import dataclass

import numpy as np

from ser_core.errors import InputError, NotFittedError


@dataclass(frozen=True)
class SpeakerStats:
    """Mean and standard deviation of each feature for one speaker, from n_clips clips."""

    mean: np.ndarray
    std: np.ndarray
    n_clips: int


def _as_matrix(X, *, name="X"):
    """Validate a (n_clips, n_features) finite float matrix."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"{name} must be a non-empty 2-D array (n_clips, n_features); received shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise InputError(f"{name} contains NaN or infinity; expected finite feature values")
    return X


def fit_speaker_stats(X, *, prior=None, prior_clips=0.0, min_std=1e-6):
    """Estimate one speaker's feature statistics from their unlabelled clips.

    Parameters
    ----------
    X : array of shape (n_clips, n_features)
        Features of the speaker's clips (at least one clip).
    prior : SpeakerStats or None
        Population statistics to shrink toward; required when ``prior_clips > 0``.
    prior_clips : float
        Weight of the prior, in clips; 0 uses the speaker's own statistics only.
    min_std : float
        Floor on each standard deviation, so constant features do not blow up.

    Returns
    -------
    SpeakerStats
    """
    X = _as_matrix(X)
    if prior_clips < 0:
        raise InputError(f"prior_clips must be >= 0; received {prior_clips}")
    n = X.shape[0]
    mean = X.mean(axis=0)
    var = X.var(axis=0)
    if prior_clips > 0:
        if prior is None:
            raise InputError("prior_clips > 0 needs population statistics in prior; received prior=None")
        if prior.mean.shape != mean.shape:
            raise InputError(f"prior has {prior.mean.shape[0]} features but X has {mean.shape[0]}")
        w = n / (n + prior_clips)
        # Pool the second moments around the shrunk mean so the variance stays consistent.
        shrunk_mean = w * mean + (1 - w) * prior.mean
        var = w * (var + (mean - shrunk_mean) ** 2) + (1 - w) * (prior.std**2 + (prior.mean - shrunk_mean) ** 2)
        mean = shrunk_mean
    elif n < 2:
        raise InputError(f"a speaker needs at least 2 clips to estimate a spread without a prior; received {n}")
    return SpeakerStats(mean=mean, std=np.maximum(np.sqrt(var), min_std), n_clips=n)


def apply_speaker_stats(X, stats):
    """Standardise a speaker's clips with that speaker's statistics."""
    X = _as_matrix(X)
    if X.shape[1] != stats.mean.shape[0]:
        raise InputError(f"X has {X.shape[1]} features but the speaker statistics have {stats.mean.shape[0]}")
    return (X - stats.mean) / stats.std


class SpeakerNormalizer:
    """Per-speaker z-scoring: ``fit(X, speakers)`` learns each speaker's statistics, ``transform`` applies them.

    Speakers unseen in ``fit`` cannot be transformed; use ``fit_transform`` on the speaker's
    own unlabelled clips (the adaptation case) or ``fit`` on enrolment clips first.
    """

    def __init__(self, *, prior_clips=0.0, min_std=1e-6):
        self.prior_clips = prior_clips
        self.min_std = min_std

    def fit(self, X, speakers):
        """Learn population statistics and one SpeakerStats per speaker; return self."""
        X = _as_matrix(X)
        speakers = np.asarray(speakers)
        if speakers.shape != (X.shape[0],):
            raise InputError(f"speakers must give one id per clip: {X.shape[0]} clips but speakers has shape {speakers.shape}")
        self.population_ = SpeakerStats(mean=X.mean(axis=0), std=np.maximum(X.std(axis=0), self.min_std), n_clips=X.shape[0])
        self.stats_ = {}
        for speaker in np.unique(speakers):
            rows = X[speakers == speaker]
            self.stats_[speaker] = fit_speaker_stats(rows, prior=self.population_, prior_clips=self.prior_clips, min_std=self.min_std)
        return self

    def transform(self, X, speakers):
        """Standardise each clip with its own speaker's statistics."""
        if not hasattr(self, "stats_"):
            raise NotFittedError("SpeakerNormalizer is not fitted: call fit(X, speakers) with the speakers' clips first")
        X = _as_matrix(X)
        speakers = np.asarray(speakers)
        if speakers.shape != (X.shape[0],):
            raise InputError(f"speakers must give one id per clip: {X.shape[0]} clips but speakers has shape {speakers.shape}")
        out = np.empty_like(X)
        for speaker in np.unique(speakers):
            if speaker not in self.stats_:
                raise InputError(f"speaker {speaker!r} was not seen in fit; known speakers: {sorted(map(str, self.stats_))}")
            rows = speakers == speaker
            out[rows] = apply_speaker_stats(X[rows], self.stats_[speaker])
        return out

    def fit_transform(self, X, speakers):
        """Fit on the given clips and standardise them (each speaker by their own statistics)."""
        return self.fit(X, speakers).transform(X, speakers)

