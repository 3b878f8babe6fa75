"""Emotion over time: one sliding window for long files, the Predict page and the live microphone.

:class:`SlidingWindows` cuts a stream of samples, fed in pieces of any size, into windows
of ``segment_s`` that end every ``hop_s``; memory stays bounded by one window plus one
piece. :func:`predict_segments` classifies every window of a recording (an array, or a
file decoded chunk by chunk) into a :class:`~ser_core.modelfolder.prediction.Timeline`,
whose summary is the headline of a long recording: the emotion heard for the most time.

The window settings are written here once: :data:`SEGMENT_S` and :data:`HOP_S` for every
timeline, :data:`LIVE_HOP_S` for the microphone, and :data:`LONG_CLIP_S`, past which a
clip is a recording to be told as a timeline (in the CLI and on the Predict page alike).

Examples
--------
>>> windows = SlidingWindows(segment_n=3, hop_n=1, min_n=3)
>>> [(start, w.tolist()) for start, w in windows.feed(np.arange(5.0))]
[(0, [0.0, 1.0, 2.0]), (1, [1.0, 2.0, 3.0]), (2, [2.0, 3.0, 4.0])]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ser_core.errors import AudioError, InputError
from ser_core.modelfolder.prediction import Prediction, Timeline, source_name

#: Window of every timeline, in seconds: about one utterance, the length the models were trained on.
SEGMENT_S = 3.0
#: Step between two windows of a file's timeline, in seconds (windows overlap by half).
HOP_S = 1.5
#: Step between two windows of the live microphone, in seconds (it speaks every second).
LIVE_HOP_S = 1.0
#: A clip longer than this (seconds) is classified window by window, and its label is the
#: timeline's summary, rather than squeezed into one prediction: the models were trained on
#: clips of a few seconds (the log-mel CNN sees only the middle 3 s of a longer one).
LONG_CLIP_S = 2 * SEGMENT_S


class SlidingWindows:
    """Windows of ``segment_n`` samples starting every ``hop_n`` samples, from a stream fed in pieces.

    With ``min_n`` below ``segment_n`` (the live microphone), shorter windows from the
    start come first, ending every ``hop_n`` samples once ``min_n`` are there, until the
    first full window. :meth:`finish` adds one window ending at the last sample when audio
    came after the last window (so a recording shorter than ``min_n`` still gets one).
    """

    def __init__(self, *, segment_n: int, hop_n: int, min_n: int | None = None):
        if segment_n < 1 or hop_n < 1:
            raise InputError(f"segment and hop must be at least 1 sample, got {segment_n} and {hop_n}")
        self.segment_n, self.hop_n = int(segment_n), int(hop_n)
        self.min_n = self.segment_n if min_n is None else max(1, min(int(min_n), self.segment_n))
        self.reset()

    def reset(self) -> None:
        """Forget everything fed so far."""
        self._buffer = np.zeros(0, dtype=np.float32)
        self.received = 0  # samples fed since the start
        self._last_end = 0  # end sample of the last window given
        first = -(-self.min_n // self.hop_n) * self.hop_n  # min_n rounded up to whole hops
        self._next_end = first if first < self.segment_n else self.segment_n

    def _window(self, end: int) -> tuple[int, np.ndarray]:
        start = max(0, end - self.segment_n)
        offset = start - (self.received - len(self._buffer))
        return start, self._buffer[offset:offset + end - start].copy()

    def _advance(self) -> None:
        following = self._next_end + self.hop_n
        if self._next_end < self.segment_n:
            following = min(following, self.segment_n)
        self._next_end = following

    def feed(self, samples) -> Iterator[tuple[int, np.ndarray]]:
        """Append samples; yield ``(start_sample, window)`` for every window completed by them."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, samples])
        self.received += len(samples)
        while self._next_end <= self.received:
            window = self._window(self._next_end)
            self._last_end = self._next_end
            self._advance()
            yield window
        keep_from = max(0, self.received - self.segment_n)  # enough for the next window, or a last one
        drop = min(len(self._buffer), max(0, keep_from - (self.received - len(self._buffer))))
        self._buffer = self._buffer[drop:]

    def finish(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield one last window, ending at the last sample, when audio came after the last window's end."""
        if self.received > self._last_end:
            self._last_end = self.received
            yield self._window(self.received)


def _chunks(source, *, sample_rate: int, chunk_s: float):
    """Pieces of a recording: slices of an array, or a file decoded chunk by chunk."""
    from ser_core.audio.preprocess import iter_chunks

    if isinstance(source, np.ndarray):
        if source.ndim != 1:
            raise InputError(f"audio must be mono of shape (n_samples,), got shape {source.shape}")
        step = max(1, int(chunk_s * sample_rate))
        return (source[i:i + step] for i in range(0, len(source), step))
    return iter_chunks(source, sample_rate=sample_rate, chunk_s=chunk_s)


def iter_segments(source, model, *, sample_rate: int, segment_s: float = SEGMENT_S, hop_s: float = HOP_S,
                  chunk_s: float = 30.0, name: str | None = None) -> Iterator[Prediction]:
    """Yield one :class:`~ser_core.modelfolder.prediction.Prediction` per window of a recording, as soon as it is classified.

    Each has ``start_s`` and ``end_s``; a silent or too-short window is not classified
    (``label`` None, ``error`` saying why). ``model`` is any model kind
    (``predict_audio``). A file source is decoded at ``sample_rate`` Hz chunk by chunk
    (bounded memory). ``name``: the ``source`` the windows carry (default: the file's path).
    """
    if not (segment_s > 0 and hop_s > 0):
        raise InputError(f"segment_s and hop_s must be positive seconds, got {segment_s} and {hop_s}")
    windows = SlidingWindows(segment_n=round(segment_s * sample_rate), hop_n=round(hop_s * sample_rate))
    where = {"source": source_name(source) if name is None else name, "model": getattr(model, "name", "")}

    def classified(cut):
        for start, window in cut:
            span = {"start_s": start / sample_rate, "end_s": (start + len(window)) / sample_rate}
            try:
                prediction = model.predict_audio(window, sample_rate=sample_rate)
            except AudioError as error:
                yield Prediction.failed(error, **where, **span)
            else:
                yield prediction.replace(**where, **span)

    for chunk in _chunks(source, sample_rate=sample_rate, chunk_s=chunk_s):
        yield from classified(windows.feed(chunk))
    yield from classified(windows.finish())


def predict_segments(source, model, *, sample_rate: int, segment_s: float = SEGMENT_S, hop_s: float = HOP_S,
                     chunk_s: float = 30.0, name: str | None = None) -> Timeline:
    """The emotion timeline of a recording (see :func:`iter_segments`); ``.summary()`` is its headline."""
    windows = iter_segments(source, model, sample_rate=sample_rate, segment_s=segment_s, hop_s=hop_s,
                            chunk_s=chunk_s, name=name)
    return Timeline(list(windows), labels=model.labels, source=source_name(source) if name is None else name,
                    model=getattr(model, "name", ""))
