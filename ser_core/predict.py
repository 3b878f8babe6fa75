"""Classify files, folders, long recordings and speakers with a loaded model.

A model here is a :class:`ser_core.artifacts.LoadedModel` (anything with ``labels``,
``settings`` and ``predict_proba(source, sample_rate=...)``).

Speaker adaptation (issue 5): a model with a speaker-adapted head (``adaptive_linear``,
the shipped default) can be calibrated to one voice. The speaker's feature statistics
come from that speaker's own unlabelled clips (a few enrolment recordings, or the batch
being classified), are shrunk toward the training population by ``prior_clips``
pseudo-clips, and every clip is then classified with the adapted head.
"""

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioError, InputError, ModelError, SERError

#: File suffixes a folder walk treats as audio.
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm", ".aiff", ".aif", ".opus", ".mp4"})


def predict_file(path, model):
    """Return ``{"path", "label", "probabilities"}`` for one audio file (errors propagate)."""
    probabilities = model.predict_proba(path)
    return {
        "path": str(path),
        "label": model.labels[int(np.argmax(probabilities))],
        "probabilities": {label: float(p) for label, p in zip(model.labels, probabilities)},
    }


def iter_audio_files(paths):
    """Yield each path; folders are walked recursively for audio files, in sorted order."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    if Path(name).suffix.lower() in AUDIO_SUFFIXES and not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path


def predict_many(paths, model):
    """Yield one result dict per file under ``paths`` (files or folders, recursive).

    A file that cannot be read or classified yields ``{"path", "error"}`` and the
    others go on.
    """
    for path in iter_audio_files(paths):
        try:
            yield predict_file(path, model)
        except (SERError, OSError) as error:
            yield {"path": str(path), "error": str(error)}


def _windows(source, *, sample_rate, segment_n, hop_n, chunk_s):
    """Yield ``(start_sample, samples)`` windows of a long source with bounded memory."""
    from .audio import iter_chunks

    if isinstance(source, np.ndarray):
        chunks = (source[i:i + segment_n * 8] for i in range(0, len(source), segment_n * 8))
    else:
        chunks = iter_chunks(source, sample_rate=sample_rate, chunk_s=chunk_s)
    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # sample index of buffer[0]
    next_start = 0
    for chunk in chunks:
        buffer = np.concatenate([buffer, np.asarray(chunk, dtype=np.float32)])
        while next_start + segment_n <= buffer_start + len(buffer):
            offset = next_start - buffer_start
            yield next_start, buffer[offset:offset + segment_n]
            next_start += hop_n
        drop = max(0, min(next_start - buffer_start, len(buffer)))
        buffer, buffer_start = buffer[drop:], buffer_start + drop
    # A tail shorter than one segment (or a recording shorter than one) still gets a window,
    # unless it is entirely covered by the previous window.
    tail_offset = next_start - buffer_start
    if 0 <= tail_offset < len(buffer) and (next_start == 0 or next_start + segment_n - hop_n < buffer_start + len(buffer)):
        yield next_start, buffer[tail_offset:]


def predict_segments(y, model, *, sample_rate, segment_s=3.0, hop_s=1.5, chunk_s=30.0):
    """Return the emotion timeline of a long recording, one entry per window.

    Parameters
    ----------
    y : np.ndarray or path or bytes
        Mono float audio at ``sample_rate`` Hz, or a source streamed chunk by chunk
        (memory stays bounded for hour-long files).
    model : LoadedModel
    sample_rate : int
        Rate of ``y`` in Hz (a streamed source is decoded at this rate).
    segment_s, hop_s : float
        Window length and step in seconds.

    Returns
    -------
    list of dict
        ``start_s``, ``end_s``, ``label`` and ``probabilities`` (label -> probability);
        a window that is silent or too short has ``label`` None and an ``error``.
    """
    if not (segment_s > 0 and hop_s > 0):
        raise InputError(f"segment_s and hop_s must be positive seconds, got {segment_s} and {hop_s}")
    if isinstance(y, np.ndarray) and y.ndim != 1:
        raise InputError(f"audio must be mono of shape (n_samples,), got shape {y.shape}")
    segment_n = max(1, int(round(segment_s * sample_rate)))
    hop_n = max(1, int(round(hop_s * sample_rate)))
    timeline = []
    for start, window in _windows(y, sample_rate=sample_rate, segment_n=segment_n, hop_n=hop_n, chunk_s=chunk_s):
        entry = {"start_s": start / sample_rate, "end_s": (start + len(window)) / sample_rate}
        try:
            probabilities = model.predict_proba(window, sample_rate=sample_rate)
        except AudioError as error:
            entry.update(label=None, probabilities=None, error=str(error))
        else:
            entry["label"] = model.labels[int(np.argmax(probabilities))]
            entry["probabilities"] = {label: float(p) for label, p in zip(model.labels, probabilities)}
        timeline.append(entry)
    return timeline


# ---------------------------------------------------------------- speaker adaptation

#: Shrinkage of a speaker's statistics toward the training population, in clips; 4 measured
#: best with 2-16 enrolment clips and costs nothing with 60 (results/accuracy.md).
DEFAULT_PRIOR_CLIPS = 4.0
#: Fewest clips a speaker's statistics are estimated from.
MIN_ENROLMENT_CLIPS = 2
#: Enrolment clips the app asks for before calibrating (adaptation helps more with more).
RECOMMENDED_ENROLMENT_CLIPS = 3
#: How ``predict_speakers`` groups files: RAVDESS actor from the name, else the parent folder.
SPEAKER_GROUPINGS = ("auto", "folder", "ravdess")

_RAVDESS_NAME = re.compile(r"^\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-(\d{2})$")


def supports_speaker_adaptation(model):
    """True when ``model`` has a speaker-adapted head (an ``adaptive_linear`` model fitted with speakers)."""
    return getattr(getattr(model, "estimator", None), "adapted_", None) is not None


def _require_adaptation(model):
    """Raise ModelError naming the models that can be calibrated when ``model`` cannot."""
    if supports_speaker_adaptation(model):
        return
    name = getattr(model, "name", type(model).__name__)
    kind = getattr(model, "config", {}).get("model", "?")
    raise ModelError(
        f"model {name!r} ({kind}) cannot be calibrated to a speaker: speaker adaptation needs a model "
        "with a speaker-adapted head, i.e. adaptive_linear trained with speakers (the shipped default "
        "compare-adaptive-lr); the study models (lstm, cnn, cnn_lstm), the classical ones and wav2vec2_rf have none"
    )


def _feature_matrix(model, sources, *, sample_rate=None):
    """Stack the model's features of each source into a (clips, values) float matrix."""
    rows = [np.asarray(model.features(source, sample_rate=sample_rate), dtype=np.float64).ravel()
            for source in sources]
    return np.stack(rows)


def _check_prior_clips(prior_clips):
    """Raise InputError for a negative or non-finite shrinkage weight."""
    if not (np.isfinite(prior_clips) and prior_clips >= 0):
        raise InputError(f"prior_clips must be >= 0 (a weight in clips); received {prior_clips}")


def _check_clip_count(n_clips, *, what="enrolment clips"):
    """Raise InputError when a speaker has fewer than MIN_ENROLMENT_CLIPS clips."""
    if n_clips < MIN_ENROLMENT_CLIPS:
        raise InputError(
            f"speaker adaptation needs at least {MIN_ENROLMENT_CLIPS} {what} of the speaker "
            f"({RECOMMENDED_ENROLMENT_CLIPS} or more recommended); received {n_clips}"
        )


@dataclass(frozen=True)
class SpeakerCalibration:
    """A model calibrated to one speaker: ``predict_proba`` uses the speaker-adapted head.

    It has the same prediction methods as a :class:`~ser_core.artifacts.LoadedModel`
    (so :func:`predict_segments` and :func:`predict_file` accept it too).
    """

    model: object
    stats: object  # ser_core.adapt.SpeakerStats of the speaker
    prior_clips: float

    @property
    def labels(self):
        """Class names, in probability-column order."""
        return self.model.labels

    @property
    def n_clips(self):
        """Number of the speaker's clips the statistics were estimated from."""
        return self.stats.n_clips

    def predict_proba_features(self, X):
        """Adapted class probabilities ``(clips, labels)`` of already-extracted features."""
        return self.model.estimator.predict_proba_for_speaker(X, self.stats)

    def predict_proba(self, source, *, sample_rate=None):
        """Adapted class probabilities of one clip, in :attr:`labels` order."""
        X = _feature_matrix(self.model, [source], sample_rate=sample_rate)
        return self.predict_proba_features(X)[0]

    def probabilities(self, source, *, sample_rate=None):
        """``{label: probability}`` of one clip under the speaker-adapted head."""
        return dict(zip(self.labels, map(float, self.predict_proba(source, sample_rate=sample_rate))))

    def predict(self, source, *, sample_rate=None):
        """The most likely emotion of one clip under the speaker-adapted head."""
        return self.labels[int(np.argmax(self.predict_proba(source, sample_rate=sample_rate)))]


def calibrate_from_features(model, X, *, prior_clips=DEFAULT_PRIOR_CLIPS):
    """Calibrate ``model`` to the speaker of feature rows ``X`` (clips, values); see :func:`adapt_to_speaker`."""
    _require_adaptation(model)
    _check_prior_clips(prior_clips)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"enrolment features must be a 2-D array (clips, values); received shape {X.shape}")
    _check_clip_count(X.shape[0])
    stats = model.estimator.speaker_stats(X, prior_clips=prior_clips)
    return SpeakerCalibration(model=model, stats=stats, prior_clips=float(prior_clips))


def adapt_to_speaker(model, enrolment_sources, *, sample_rate=None, prior_clips=DEFAULT_PRIOR_CLIPS):
    """Calibrate ``model`` to one voice from a few unlabelled clips of that speaker.

    Parameters
    ----------
    model : LoadedModel
        A model with a speaker-adapted head (``adaptive_linear``; see
        :func:`supports_speaker_adaptation`).
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
        Classifies new clips of the same speaker with the adapted head.

    Raises
    ------
    ModelError
        The model has no speaker-adapted head.
    InputError
        Fewer than ``MIN_ENROLMENT_CLIPS`` clips.
    """
    _require_adaptation(model)
    _check_prior_clips(prior_clips)
    sources = list(enrolment_sources)
    _check_clip_count(len(sources))
    X = _feature_matrix(model, sources, sample_rate=sample_rate)
    return calibrate_from_features(model, X, prior_clips=prior_clips)


def predict_speaker(sources, model, *, enrol=None, sample_rate=None, prior_clips=DEFAULT_PRIOR_CLIPS):
    """Adapted class probabilities ``(clips, labels)`` of clips that are all from one speaker.

    The speaker's statistics come from ``enrol`` (other unlabelled clips of the speaker)
    when given, else from ``sources`` themselves (the batch is the enrolment).
    """
    sources = list(sources)
    if not sources:
        raise InputError("predict_speaker needs at least one clip to classify; received none")
    _require_adaptation(model)
    X = _feature_matrix(model, sources, sample_rate=sample_rate)
    if enrol is None:
        calibration = calibrate_from_features(model, X, prior_clips=prior_clips)
    else:
        calibration = adapt_to_speaker(model, enrol, sample_rate=sample_rate, prior_clips=prior_clips)
    return calibration.predict_proba_features(X)


def speaker_of(path, *, grouping="auto"):
    """Speaker id of an audio file: ``ravdess-actor-NN`` from a RAVDESS name, else its parent folder.

    ``grouping`` is ``auto`` (RAVDESS when the name parses, else the folder), ``folder``
    or ``ravdess`` (a name that does not parse raises InputError).
    """
    if grouping not in SPEAKER_GROUPINGS:
        raise InputError(f"unknown speaker grouping {grouping!r}; expected one of {', '.join(SPEAKER_GROUPINGS)}")
    path = Path(path)
    if grouping != "folder":
        match = _RAVDESS_NAME.match(path.stem)
        if match is not None:
            return f"ravdess-actor-{match.group(1)}"
        if grouping == "ravdess":
            raise InputError(f"{path.name} is not a RAVDESS file name (expected 7 two-digit fields such as "
                             "03-01-05-01-02-01-12.wav, the last being the actor)")
    # absolute, not resolve(): a linked clip belongs to the folder it was given in.
    return str(Path(os.path.abspath(path)).parent)


def _speaker_records(paths, X, model, speaker, *, prior_clips):
    """One result dict per clip of one speaker: the adapted label, plus the single-clip one."""
    single = model.predict_proba_features(X)
    if len(X) < MIN_ENROLMENT_CLIPS:  # too few clips of this speaker: classify them one by one
        adapted = single
        note = (f"not adapted: speaker adaptation needs at least {MIN_ENROLMENT_CLIPS} readable clips "
                f"of the speaker; received {len(X)}")
    else:
        adapted = calibrate_from_features(model, X, prior_clips=prior_clips).predict_proba_features(X)
        note = None
    records = []
    for path, p_adapted, p_single in zip(paths, adapted, single):
        record = {
            "path": str(path),
            "speaker": speaker,
            "adapted": note is None,
            "label": model.labels[int(np.argmax(p_adapted))],
            "probabilities": {label: float(p) for label, p in zip(model.labels, p_adapted)},
            "single_clip_label": model.labels[int(np.argmax(p_single))],
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

    Raises
    ------
    ModelError
        The model has no speaker-adapted head.
    """
    _require_adaptation(model)
    _check_prior_clips(prior_clips)
    if speaker_of_file not in SPEAKER_GROUPINGS:
        raise InputError(f"unknown speaker grouping {speaker_of_file!r}; "
                         f"expected one of {', '.join(SPEAKER_GROUPINGS)}")
    files = list(iter_audio_files(paths))
    results = {}
    groups = defaultdict(list)  # speaker -> [(position, path, features)]
    for position, path in enumerate(files):
        try:
            speaker = speaker_of(path, grouping=speaker_of_file)
            features = _feature_matrix(model, [path])[0]
        except (SERError, OSError) as error:
            results[position] = {"path": str(path), "error": str(error)}
            continue
        groups[speaker].append((position, path, features))
    for speaker, members in groups.items():
        positions, group_paths, rows = zip(*members)
        records = _speaker_records(group_paths, np.stack(rows), model, speaker, prior_clips=prior_clips)
        results.update(zip(positions, records))
    return [results[position] for position in range(len(files))]
