"""Classify files and folders with a loaded model; long recordings become a timeline.

A model here is a :class:`ser_core.inference.LoadedModel` (anything with ``labels``,
``sample_rate`` and ``predict_proba(source, sample_rate=...)``). A file longer than
``long_s`` (60 s by default) is not squeezed into one label: it is classified window by
window (:mod:`ser_core.segments`), each window is one record, and a summary record gives
the emotion heard for the most time. Memory stays bounded whatever the length.

Examples
--------
>>> from ser_core.artifacts import default_model_dir, load_model
>>> model = load_model(default_model_dir())  # doctest: +SKIP
>>> next(iter_predictions(["clip.wav"], model))["label"]  # doctest: +SKIP
'angry'
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .audio import AUDIO_SUFFIXES, TruncatedAudioWarning
from .errors import InputError, SERError

#: Files longer than this (seconds) are classified as a timeline of windows.
LONG_RECORDING_S = 60.0


def _record(path, model, probabilities) -> dict:
    return {
        "path": str(path),
        "label": model.labels[int(np.argmax(probabilities))],
        "probabilities": {label: float(p) for label, p in zip(model.labels, probabilities)},
    }


def predict_file(path, model) -> dict:
    """``{"path", "label", "probabilities"}`` for one short audio file, plus ``warning`` when it is truncated.

    Errors (unreadable, not audio, silent, ...) propagate as :class:`~ser_core.errors.SERError`.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedAudioWarning)
        probabilities = model.predict_proba(path)
    record = _record(path, model, probabilities)
    notes = [str(w.message) for w in caught if issubclass(w.category, TruncatedAudioWarning)]
    if notes:
        record["warning"] = notes[0]
    return record


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
    from .audio import probe

    try:
        return probe(path).duration_s
    except SERError:
        return None  # predict_file gives the real reason


def predict_long_file(path, model, *, segment_s: float | None = None, hop_s: float | None = None):
    """Yield one record per window of a long recording, then a summary record.

    Window records have ``path``, ``start_s``, ``end_s``, ``label`` and ``probabilities``
    (or ``error`` for a silent window); the summary has ``summary: true``, the dominant
    ``label`` over time, its ``share`` of the voiced windows, the mean ``probabilities``,
    ``duration_s``, ``n_segments`` and ``n_silent``.
    """
    from .segments import HOP_S, SEGMENT_S, iter_segments, summarize_timeline

    entries, end_s = [], 0.0
    for entry in iter_segments(path, model, sample_rate=model.sample_rate, segment_s=segment_s or SEGMENT_S,
                               hop_s=hop_s or HOP_S):
        entries.append({key: entry.get(key) for key in ("label", "probabilities")})
        yield {"path": str(path), **entry}
        end_s = entry["end_s"]
    summary = summarize_timeline(entries, model.labels)
    if summary is None:
        yield {"path": str(path), "summary": True, "error": "every window was silent or too short to classify"}
    else:
        yield {"path": str(path), "summary": True, "duration_s": round(end_s, 3), **summary}


def _sources(paths, *, allow_outside: bool):
    """``(file, None)`` for each audio file to classify, ``(where, reason)`` for each manifest row left out."""
    from .corpus.layouts import is_manifest, read_manifest

    for path in paths:
        if is_manifest(path):
            listing = read_manifest(path, allow_outside=allow_outside)
            yield from listing.skipped
            yield from ((file, None) for file, _ in listing.entries)
        else:
            yield from ((file, None) for file in iter_audio_files([path]))


def iter_predictions(paths, model, *, long_s: float = LONG_RECORDING_S, allow_outside: bool = False):
    """Yield prediction records for files, folders (recursive) and manifests, in order.

    A short file gives one record (:func:`predict_file`); a file longer than ``long_s``
    gives its window records and a summary (:func:`predict_long_file`). A file that cannot
    be read or classified gives ``{"path", "error"}`` and the others go on. A CSV or
    Parquet manifest (:mod:`ser_core.corpus.layouts`) stands for the files it lists;
    ``allow_outside`` reads rows whose path leaves the manifest's folder.
    """
    for path, reason in _sources(paths, allow_outside=allow_outside):
        if reason is not None:
            yield {"path": str(path), "error": reason}
            continue
        try:
            duration_s = _duration_s(path)
            if duration_s is not None and duration_s > long_s:
                yield from predict_long_file(path, model)
            else:
                yield predict_file(path, model)
        except (SERError, OSError) as error:
            yield {"path": str(path), "error": str(error)}
