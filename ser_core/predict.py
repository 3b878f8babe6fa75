"""Classify files, folders and long recordings with a loaded model.

A model here is a :class:`ser_core.artifacts.LoadedModel` (anything with ``labels``,
``settings`` and ``predict_proba(source, sample_rate=...)``).
"""

import os
from pathlib import Path

import numpy as np

from .errors import AudioError, InputError, SERError

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
