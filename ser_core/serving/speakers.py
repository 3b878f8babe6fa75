"""Adapting a model to one voice, and classifying a batch speaker by speaker.

A model with a speaker-adapted head (:class:`ser_core.models.adaptive_linear.AdaptiveLinearClassifier`,
or an ensemble holding one) normalises each speaker's features by that speaker's own
statistics (:mod:`ser_core.models.speaker_stats`), estimated here from a few unlabelled
enrolment clips (:func:`adapt_to_speaker`) or from the speaker's files in a batch
(:func:`predict_speakers`). A :class:`SpeakerAdaptation` answers the calls of every model
kind (:class:`ser_core.modelfolder.loaded.Predictor`), so timelines, evaluation and the
app take it as they take the model itself.

This is speaker adaptation, not temperature scaling: the probabilities of every model
kind are temperature-scaled (:mod:`ser_core.scoring.temperature`) either way.
"""

from dataclasses import dataclass

import numpy as np

from ser_core.errors import InputError
from ser_core.modelfolder.prediction import Prediction
from ser_core.models.speaker_stats import SpeakerStats

#: Shrinkage of a speaker's statistics toward the training population, in clips; 4 measured
#: best with 2-16 enrolment clips and costs nothing with 60 (results/accuracy.md).
DEFAULT_PRIOR_CLIPS = 4.0
#: Fewest clips a speaker's statistics are estimated from.
MIN_ENROLMENT_CLIPS = 2
#: Enrolment clips the app asks for before adapting (adaptation helps more with more).
RECOMMENDED_ENROLMENT_CLIPS = 3
#: How ``predict_speakers`` groups files: RAVDESS actor from the name, else the parent folder.
SPEAKER_GROUPINGS = ("auto", "folder", "ravdess")


def _check_prior_clips(prior_clips):
    """Raise InputError for a negative or non-finite shrinkage weight."""
    if not (np.isfinite(prior_clips) and prior_clips >= 0):
        raise InputError(f"prior_clips must be >= 0 (a weight in clips); received {prior_clips}")


def _check_clip_count(n_clips):
    """Raise InputError when a speaker has fewer than MIN_ENROLMENT_CLIPS clips."""
    if n_clips < MIN_ENROLMENT_CLIPS:
        raise InputError(
            f"speaker adaptation needs at least {MIN_ENROLMENT_CLIPS} enrolment clips of the speaker "
            f"({RECOMMENDED_ENROLMENT_CLIPS} or more recommended); received {n_clips}"
        )


@dataclass(frozen=True)
class SpeakerAdaptation:
    """A model adapted to one speaker: every call classifies with the speaker-adapted head.

    It answers the calls of the model it wraps (``features``, ``stack_features``,
    ``predict_proba``, ``predict``, ``predict_audio``, ``corpus_features``), so anything
    that takes a model takes it.
    """

    model: object
    stats: SpeakerStats
    prior_clips: float

    @property
    def name(self) -> str:
        """The adapted model's name."""
        return self.model.name

    @property
    def labels(self):
        """Class names, in probability-column order."""
        return self.model.labels

    @property
    def sample_rate(self):
        """The rate (Hz) of the model's features."""
        return self.model.sample_rate

    @property
    def n_clips(self):
        """Number of the speaker's clips the statistics were estimated from."""
        return self.stats.n_clips

    def describe(self) -> str:
        """One line: the model, adapted to a speaker."""
        return f"{self.model.describe()}, adapted to one speaker from {self.n_clips} clip(s)"

    def features(self, source, *, sample_rate=None):
        """The model's features of one clip."""
        return self.model.features(source, sample_rate=sample_rate)

    def stack_features(self, rows):
        """Per-clip features as one batch."""
        return self.model.stack_features(rows)

    def predict_proba(self, X):
        """Temperature-scaled probabilities ``(clips, labels)`` of the speaker's clips under the speaker-adapted head."""
        return self.model.predict_proba(X, speaker=self.stats)

    def predict(self, X):
        """The most likely label of each of the speaker's clips."""
        return self.model.predict(X, speaker=self.stats)

    def predict_audio(self, source, *, sample_rate=None) -> Prediction:
        """The :class:`~ser_core.modelfolder.prediction.Prediction` of one clip of the speaker."""
        return self.model.predict_audio(source, sample_rate=sample_rate, speaker=self.stats).replace(adapted=True)

    def corpus_features(self, data, *, progress=None, label_map=None):
        """A corpus as the model's features (every clip is then classified as this speaker's)."""
        return self.model.corpus_features(data, progress=progress, label_map=label_map)


def adapt_from_features(model, features, *, prior_clips=DEFAULT_PRIOR_CLIPS) -> SpeakerAdaptation:
    """Adapt ``model`` to the speaker of clips whose features (``model.features`` of each) are given."""
    model.require_speaker_adaptation()
    _check_prior_clips(prior_clips)
    features = list(features)
    _check_clip_count(len(features))
    stats = model.speaker_stats(model.stack_features(features), prior_clips=prior_clips)
    return SpeakerAdaptation(model=model, stats=stats, prior_clips=float(prior_clips))


def adapt_to_speaker(model, enrolment_sources, *, sample_rate=None, prior_clips=DEFAULT_PRIOR_CLIPS):
    """Adapt ``model`` to one voice from a few unlabelled clips of that speaker.

    Parameters
    ----------
    model : LoadedModel
        A model with a speaker-adapted head (``model.supports_speaker_adaptation``).
    enrolment_sources : sequence
        At least ``MIN_ENROLMENT_CLIPS`` clips of the speaker (paths, bytes, file
        objects or arrays); their emotions need not be known.
    sample_rate : int or None
        Rate in Hz of array sources.
    prior_clips : float
        Shrinkage of the speaker's statistics toward the training population, in clips.

    Returns
    -------
    SpeakerAdaptation

    Examples
    --------
    >>> speaker = adapt_to_speaker(model, ["me-1.wav", "me-2.wav", "me-3.wav"])  # doctest: +SKIP
    >>> speaker.predict_audio("me-4.wav").label  # doctest: +SKIP
    'calm'
    """
    model.require_speaker_adaptation()
    _check_prior_clips(prior_clips)
    sources = list(enrolment_sources)
    _check_clip_count(len(sources))
    return adapt_from_features(model, [model.features(source, sample_rate=sample_rate) for source in sources],
                               prior_clips=prior_clips)


def speaker_of(path, *, grouping="auto"):
    """Speaker id of an audio file: ``ravdess-actor-NN`` from a RAVDESS name, else its parent folder.

    ``grouping`` is ``auto`` (RAVDESS when the name parses, else the folder), ``folder``
    or ``ravdess`` (a name that does not parse raises InputError).
    """
    import os
    from pathlib import Path

    from ser_core.data.naming import ravdess_actor

    if grouping not in SPEAKER_GROUPINGS:
        raise InputError(f"unknown speaker grouping {grouping!r}; expected one of {', '.join(SPEAKER_GROUPINGS)}")
    path = Path(path)
    if grouping != "folder":
        actor = ravdess_actor(path)
        if actor is not None:
            return f"ravdess-actor-{actor}"
        if grouping == "ravdess":
            raise InputError(f"{path.name} is not a RAVDESS file name (expected 7 two-digit fields such as "
                             "03-01-05-01-02-01-12.wav, the last being the actor)")
    # absolute, not resolve(): a linked clip belongs to the folder it was given in.
    return str(Path(os.path.abspath(path)).parent)


def _speaker_predictions(paths, features, model, speaker, *, prior_clips) -> list[Prediction]:
    """One prediction per clip of one speaker: the adapted one, with the single-clip one beside it."""
    X = model.stack_features(features)
    single = model.predict_proba(X)
    adapted, note = single, None
    if len(features) < MIN_ENROLMENT_CLIPS:
        note = (f"not adapted: speaker adaptation needs at least {MIN_ENROLMENT_CLIPS} readable clips "
                f"of the speaker; received {len(features)}")
    else:
        adapted = adapt_from_features(model, features, prior_clips=prior_clips).predict_proba(X)
    where = {"model": model.name, "speaker": speaker}
    return [Prediction.from_proba(adapted_row, labels=model.labels, source=str(path), adapted=note is None,
                                  warning=note, **where,
                                  single_clip=Prediction.from_proba(single_row, labels=model.labels,
                                                                    source=str(path), model=model.name))
            for path, adapted_row, single_row in zip(paths, adapted, single)]


def predict_speakers(paths, model, *, speaker_of_file="auto", prior_clips=DEFAULT_PRIOR_CLIPS) -> list[Prediction]:
    """Classify files (folders walked) adapting to each speaker from that speaker's files in the batch.

    Files are grouped by :func:`speaker_of` (``speaker_of_file``: auto, folder or
    ravdess). Each file is decoded once and each of the model's feature kinds extracted
    once. Each :class:`~ser_core.modelfolder.prediction.Prediction` has the adapted
    ``label`` and ``probabilities``, the ``speaker``, ``adapted`` and the ``single_clip``
    prediction; a speaker with fewer than ``MIN_ENROLMENT_CLIPS`` readable files gets
    single-clip results with ``adapted`` False and a ``warning``. An unreadable file gets
    an unclassified prediction with its ``error``. Predictions come back in the order of the files.
    """
    from collections import defaultdict

    from ser_core.errors import SERError
    from ser_core.serving.predict import iter_audio_files

    model.require_speaker_adaptation()
    _check_prior_clips(prior_clips)
    if speaker_of_file not in SPEAKER_GROUPINGS:
        raise InputError(f"unknown speaker grouping {speaker_of_file!r}; "
                         f"expected one of {', '.join(SPEAKER_GROUPINGS)}")
    files = list(iter_audio_files(paths))
    results, groups = {}, defaultdict(list)
    for position, path in enumerate(files):
        try:
            groups[speaker_of(path, grouping=speaker_of_file)].append((position, path, model.features(path)))
        except (SERError, OSError) as error:
            results[position] = Prediction.failed(error, source=str(path), model=model.name)
    for speaker, members in groups.items():
        positions, group_paths, features = zip(*members)
        predictions = _speaker_predictions(group_paths, list(features), model, speaker, prior_clips=prior_clips)
        results.update(zip(positions, predictions))
    return [results[position] for position in range(len(files))]
