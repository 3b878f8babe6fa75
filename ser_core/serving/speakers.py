"""Calibrating a loaded model to one voice, and classifying a batch speaker by speaker.

A model with a speaker-adapted head (:class:`ser_core.models.adaptive_linear.AdaptiveLinearClassifier`)
normalises each speaker's features by that speaker's own statistics (:mod:`ser_core.models.speaker_stats`),
estimated here from a few enrolment clips or from the speaker's files in a batch.
"""

from dataclasses import dataclass

import numpy as np

from ser_core.errors import InputError
from ser_core.models.speaker_stats import SpeakerStats

#: Shrinkage of a speaker's statistics toward the training population, in clips; 4 measured
#: best with 2-16 enrolment clips and costs nothing with 60 (results/accuracy.md).
DEFAULT_PRIOR_CLIPS = 4.0
#: Fewest clips a speaker's statistics are estimated from.
MIN_ENROLMENT_CLIPS = 2
#: Enrolment clips the app asks for before calibrating (adaptation helps more with more).
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
class SpeakerCalibration:
    """A model calibrated to one speaker: ``predict_proba`` uses the speaker-adapted head.

    It has the prediction methods of a loaded model, so timelines
    (:func:`ser_core.serving.segments.iter_segments`) accept it too.
    """

    model: object
    stats: SpeakerStats
    prior_clips: float

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

    def predict_proba(self, source, *, sample_rate=None, features=None):
        """Calibrated probabilities of one clip of the speaker, in :attr:`labels` order."""
        return self.model.predict_proba_adapted(source, self.stats, sample_rate=sample_rate, features=features)

    def probabilities(self, source, *, sample_rate=None):
        """``{label: probability}`` of one clip under the speaker-adapted head."""
        return dict(zip(self.labels, map(float, self.predict_proba(source, sample_rate=sample_rate))))

    def predict(self, source, *, sample_rate=None):
        """The most likely emotion of one clip under the speaker-adapted head."""
        return self.labels[int(np.argmax(self.predict_proba(source, sample_rate=sample_rate)))]


def calibrate_from_features(model, X, *, prior_clips=DEFAULT_PRIOR_CLIPS):
    """Calibrate ``model`` to the speaker of rows ``X`` of ``model.adaptation_features`` (clips, values)."""
    model.require_speaker_adaptation()
    _check_prior_clips(prior_clips)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"enrolment features must be a 2-D array (clips, values); received shape {X.shape}")
    _check_clip_count(X.shape[0])
    return SpeakerCalibration(model=model, stats=model.speaker_stats(X, prior_clips=prior_clips),
                              prior_clips=float(prior_clips))


def adapt_to_speaker(model, enrolment_sources, *, sample_rate=None, prior_clips=DEFAULT_PRIOR_CLIPS):
    """Calibrate ``model`` to one voice from a few unlabelled clips of that speaker.

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
    SpeakerCalibration

    Examples
    --------
    >>> speaker = adapt_to_speaker(model, ["me-1.wav", "me-2.wav", "me-3.wav"])  # doctest: +SKIP
    >>> speaker.probabilities("me-4.wav")  # doctest: +SKIP
    """
    _check_prior_clips(prior_clips)
    sources = list(enrolment_sources)
    _check_clip_count(len(sources))
    X = np.stack([model.adaptation_features(source, sample_rate=sample_rate) for source in sources])
    return calibrate_from_features(model, X, prior_clips=prior_clips)


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


def _speaker_records(paths, rows, model, speaker, *, prior_clips):
    """One result dict per clip of one speaker: the adapted label, plus the single-clip one."""
    calibration, note = None, None
    if len(rows) < MIN_ENROLMENT_CLIPS:
        note = (f"not adapted: speaker adaptation needs at least {MIN_ENROLMENT_CLIPS} readable clips "
                f"of the speaker; received {len(rows)}")
    else:
        calibration = calibrate_from_features(model, np.stack(rows), prior_clips=prior_clips)
    records = []
    for path, row in zip(paths, rows):
        single = model.predict_proba(path)
        adapted = single if calibration is None else calibration.predict_proba(path, features=row)
        record = {
            "path": str(path), "speaker": speaker, "adapted": calibration is not None,
            "label": model.labels[int(np.argmax(adapted))],
            "probabilities": {label: float(p) for label, p in zip(model.labels, adapted)},
            "single_clip_label": model.labels[int(np.argmax(single))],
        }
        if note is not None:
            record["note"] = note
        records.append(record)
    return records


def predict_speakers(paths, model, *, speaker_of_file="auto", prior_clips=DEFAULT_PRIOR_CLIPS):
    """Classify files (folders walked) adapting to each speaker from that speaker's files in the batch.

    Files are grouped by :func:`speaker_of` (``speaker_of_file``: auto, folder or
    ravdess). Each record has ``path``, ``speaker``, ``adapted``, ``label`` and
    ``probabilities`` (adapted head), and ``single_clip_label``; a speaker with fewer than
    ``MIN_ENROLMENT_CLIPS`` readable files gets single-clip results with ``adapted``
    False and a ``note``. An unreadable file gets ``{"path", "error"}``. Records come
    back in the order of the files.
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
            groups[speaker_of(path, grouping=speaker_of_file)].append((position, path, model.adaptation_features(path)))
        except (SERError, OSError) as error:
            results[position] = {"path": str(path), "error": str(error)}
    for speaker, members in groups.items():
        positions, group_paths, rows = zip(*members)
        records = _speaker_records(group_paths, list(rows), model, speaker, prior_clips=prior_clips)
        results.update(zip(positions, records))
    return [results[position] for position in range(len(files))]
