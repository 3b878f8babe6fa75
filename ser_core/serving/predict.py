"""Classify files and folders with a model; long recordings become a timeline.

A model here is any model kind (:class:`ser_core.modelfolder.loaded.Predictor`: ``labels``,
``sample_rate``, ``predict_audio``). Every result is a
:class:`~ser_core.modelfolder.prediction.Prediction`. A file longer than ``long_s``
(:data:`~ser_core.serving.segments.LONG_CLIP_S`, 6 s, by default) is not squeezed into one
label: it is classified window by window (:mod:`ser_core.serving.segments`), each window is
one prediction, and a :class:`~ser_core.modelfolder.prediction.TimelineSummary` closes it
with the emotion heard for the most time. Memory stays bounded whatever the length.

Given a Dask scheduler (or ``$SER_DASK_SCHEDULER``), :func:`iter_predictions` sends
batches of files to the cluster (:mod:`ser_core.distributed`); each worker loads the model
once, and the predictions come back in input order, the same as on this machine. A long file
stays one task: its windows come from one streaming decode, and a long recording is
already minutes of work for one worker.

Examples
--------
>>> from ser_core.modelfolder.read import default_model_dir, load_model
>>> model = load_model(default_model_dir())  # doctest: +SKIP
>>> next(iter_predictions(["clip.wav"], model)).label  # doctest: +SKIP
'angry'
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ser_core.audio.decode import as_damage
from ser_core.audio.preprocess import AUDIO_SUFFIXES, TruncatedAudioWarning
from ser_core.errors import InputError, SERError
from ser_core.modelfolder.prediction import Prediction, Timeline
from ser_core.serving.segments import HOP_S, LONG_CLIP_S, SEGMENT_S, iter_segments

#: On a cluster, a task holds at most this many files (fewer when there are few per worker thread),
#: or this many bytes (a larger file is a task alone).
FILES_PER_TASK = 16
BYTES_PER_TASK = 16 << 20


def predict_file(path, model) -> Prediction:
    """The prediction of one short audio file, with a ``warning`` when the file is truncated or may not be speech.

    The warning keeps a note the model gave (e.g. a gated ensemble member left out of a noisy
    recording) unless the clip may not be speech (:func:`~ser_core.audio.quality.speech_doubt`),
    which says more. Errors (unreadable, not audio, silent, ...) propagate as
    :class:`~ser_core.errors.SERError`; on a truncated file they say first that it is damaged.
    """
    from ser_core.audio.preprocess import load_audio
    from ser_core.audio.quality import speech_doubt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedAudioWarning)
        try:
            y = load_audio(path, sample_rate=model.sample_rate)
            prediction = model.predict_audio(y, sample_rate=model.sample_rate).replace(source=str(path))
        except InputError as error:  # e.g. the silent start that is all a truncated file kept
            raise as_damage(error, truncated=_truncation_notes(caught) != []) from error
    doubt = speech_doubt(y, sample_rate=model.sample_rate)
    notes = _truncation_notes(caught) + ([f"this may not be speech. {doubt}"] if doubt else [prediction.warning])
    notes = [note for note in notes if note]
    return prediction.replace(warning="; ".join(notes) if notes else None)


def _truncation_notes(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, TruncatedAudioWarning)]


def iter_audio_files(paths):
    """Yield each path; folders are walked recursively for audio files, in sorted order.

    Raises InputError for a path that does not exist or a folder without audio files.
    """
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = False
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    if Path(name).suffix.lower() in AUDIO_SUFFIXES and not name.startswith("."):
                        found = True
                        yield Path(root) / name
            if not found:
                raise InputError(f"'{path}' holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
        elif not path.exists():
            raise InputError(f"no file or folder at '{path}'")
        else:
            yield path


def _duration_s(path) -> float | None:
    from ser_core.audio.preprocess import probe

    try:
        return probe(path).duration_s
    except SERError:
        return None  # predict_file gives the real reason


def predict_long_file(path, model, *, segment_s: float = SEGMENT_S, hop_s: float = HOP_S):
    """Yield the prediction of every window of a long recording, then the timeline's summary.

    Windows have ``start_s`` and ``end_s`` (a silent one is unclassified, with an
    ``error``); the closing :class:`~ser_core.modelfolder.prediction.TimelineSummary` has the
    dominant ``label`` over time, its ``share`` of the voiced windows, the mean
    ``probabilities``, the recording's span, ``n_segments`` and ``n_silent``.
    """
    timeline = Timeline(labels=model.labels, source=str(path), model=getattr(model, "name", ""))
    for window in iter_segments(path, model, sample_rate=model.sample_rate, segment_s=segment_s, hop_s=hop_s,
                                name=str(path)):
        timeline.append(window)
        yield window
    yield timeline.summary()


def _sources(paths, *, allow_outside: bool):
    """``(file, None)`` for each audio file to classify, ``(where, reason)`` for each manifest row left out."""
    from ser_core.data.layouts import is_manifest, read_manifest

    for path in paths:
        if is_manifest(path):
            listing = read_manifest(path, allow_outside=allow_outside)
            yield from listing.skipped
            yield from ((file, None) for file, _ in listing.entries)
        else:
            yield from ((file, None) for file in iter_audio_files([path]))


def file_predictions(path, model, *, long_s: float = LONG_CLIP_S):
    """Yield the predictions of one file: one for a short file, windows and a summary for a long one, or an error."""
    try:
        duration_s = _duration_s(path)
        if duration_s is not None and duration_s > long_s:
            yield from predict_long_file(path, model)
        else:
            yield predict_file(path, model)
    except (SERError, OSError) as error:
        yield _left_out(path, error, model)


def predict_batch(paths, shipped_model, *, long_s: float = LONG_CLIP_S) -> list[list[Prediction]]:
    """Worker: the predictions of each file (:func:`file_predictions`), one list per file.

    ``shipped_model``: a :class:`ser_core.serving.worker_models.ShippedModel`, loaded once per process.
    """
    model = shipped_model.load()
    return [list(file_predictions(path, model, long_s=long_s)) for path in paths]


def iter_predictions(paths, model, *, long_s: float = LONG_CLIP_S, allow_outside: bool = False,
                     scheduler=None, progress=None):
    """Yield the :class:`~ser_core.modelfolder.prediction.Prediction` of every file, folder (recursive) and manifest, in order.

    A short file gives one prediction (:func:`predict_file`); a file longer than ``long_s``
    seconds gives its windows and a summary (:func:`predict_long_file`). A file that cannot
    be read or classified gives an unclassified prediction with its ``error``, and the others go on. A CSV or
    Parquet manifest (:mod:`ser_core.data.layouts`) stands for the files it lists;
    ``allow_outside`` reads rows whose path leaves the manifest's folder.

    ``scheduler``: a Dask scheduler (``tcp://HOST:PORT``) to classify on; None means
    ``$SER_DASK_SCHEDULER`` when set, else this machine; ``"local"`` this machine. The
    workers must reach the files; the predictions are the same, in the same order (a
    manifest's skipped rows come first there). ``progress(done, total)`` is called after
    each file (``total`` is None on this machine, where files are classified as found).
    """
    from ser_core.distributed import resolve_scheduler

    address = resolve_scheduler(scheduler)
    if address is not None:
        sources = list(_sources(paths, allow_outside=allow_outside))
        yield from (_left_out(where, reason, model) for where, reason in sources if reason is not None)
        files = [path for path, reason in sources if reason is None]
        yield from _predict_on_cluster(files, model, long_s=long_s, scheduler=address, progress=progress)
        return
    done = 0
    for path, reason in _sources(paths, allow_outside=allow_outside):
        if reason is not None:
            yield _left_out(path, reason, model)
            continue
        yield from file_predictions(path, model, long_s=long_s)
        done += 1
        if progress is not None:
            progress(done, None)


def _left_out(where, reason, model) -> Prediction:
    """A file or manifest row that gives no prediction, and why."""
    return Prediction.failed(reason, source=str(where), model=getattr(model, "name", ""))


def _file_batches(files, *, max_files: int = FILES_PER_TASK, max_bytes: int = BYTES_PER_TASK) -> list[list]:
    batches, size = [], 0
    for path in files:
        try:
            n_bytes = os.path.getsize(path)
        except OSError:
            n_bytes = 0  # the worker reports why
        if not batches or len(batches[-1]) >= max_files or size + n_bytes > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += n_bytes
    return batches


def _predict_on_cluster(files, model, *, long_s, scheduler, progress):
    from ser_core import distributed
    from ser_core.serving.worker_models import ship_model

    client = distributed.connect(scheduler)
    shipped = ship_model(client, model)
    per_task = distributed.items_per_task(len(files), n_threads=distributed.n_threads(client))
    batches = _file_batches(files, max_files=min(FILES_PER_TASK, per_task))

    def counted(finished, done=0):  # progress as batches finish, whatever their order
        for number, batch in finished:
            done += len(batch)
            if progress is not None:
                progress(done, len(files))
            yield number, batch

    finished = distributed.map_batches(client, predict_batch, batches, shipped_model=shipped, long_s=long_s)
    for batch in distributed.in_input_order(counted(finished)):
        for predictions in batch:
            yield from predictions
