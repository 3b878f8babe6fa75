"""Live microphone glue: turn WebRTC audio frames into a rolling emotion timeline.

``streamlit-webrtc`` calls :meth:`LiveEmotionMonitor.__call__` from its worker thread
with every ``av.AudioFrame``; the page's fragment reads :meth:`LiveEmotionMonitor.timeline`
(a :class:`~ser_core.modelfolder.prediction.Timeline`) about once a second. The windows
come from :class:`ser_core.serving.segments.SlidingWindows`, the same cutter that makes
the timelines of uploaded files, with its window settings (``SEGMENT_S``, ``LIVE_HOP_S``).
Nothing here imports streamlit, so it is tested with PyAV frames.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence

import av
import numpy as np

from ser_core.errors import SERError
from ser_core.modelfolder.prediction import Prediction, Timeline
from ser_core.serving.segments import LIVE_HOP_S, SEGMENT_S, SlidingWindows

PredictFn = Callable[[np.ndarray], Prediction]
#: The ``source`` of the live microphone's windows (the ``path`` column of its CSV).
MICROPHONE = "microphone"


_INT_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


def _mono_samples(frame: av.AudioFrame) -> np.ndarray:
    """The frame's channels averaged to float32 in [-1, 1] at the frame's own rate."""
    data = frame.to_ndarray()
    n_channels = len(frame.layout.channels)
    channels = data.reshape(n_channels, -1) if frame.format.is_planar else data.reshape(-1, n_channels).T
    scale = _INT_SCALE.get(channels.dtype)
    if scale is None and channels.dtype == np.uint8:
        channels = channels.astype(np.float32) - 128.0
        scale = 128.0
    mono = channels.astype(np.float32).mean(axis=0)
    return mono / scale if scale else mono


def frame_to_mono(frame: av.AudioFrame, *, resampler: av.AudioResampler) -> np.ndarray:
    """One frame (any layout, sample format and rate) as mono float32 at the resampler's rate.

    Channels are averaged here rather than by the resampler, whose stereo downmix adds
    3 dB; ``resampler`` must output packed float mono (``format="flt", layout="mono"``).
    """
    mono = av.AudioFrame.from_ndarray(_mono_samples(frame)[None], format="flt", layout="mono")
    mono.sample_rate = frame.sample_rate
    chunks = [f.to_ndarray().reshape(-1) for f in resampler.resample(mono)]
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


class LiveEmotionMonitor:
    """Accumulate microphone audio and classify the latest window every ``hop_s`` seconds.

    Parameters
    ----------
    predict
        Maps mono float32 audio at ``sample_rate`` to a :class:`~ser_core.modelfolder.prediction.Prediction`.
    sample_rate
        Rate (Hz) the audio is resampled to before prediction.
    window_s
        Length (s) of audio each prediction sees.
    hop_s
        Seconds of new audio between two predictions.
    history_s
        How many seconds of timeline to keep.
    labels
        The model's labels (default: those of the first prediction).
    background
        Predict in a worker thread so the WebRTC event loop never waits on the model;
        windows queue up (at most ``max_queued``; the oldest are dropped beyond that).
        With False, :meth:`feed` predicts before it returns.
    """

    def __init__(self, predict: PredictFn, *, sample_rate: int = 16000,
                 window_s: float = SEGMENT_S, hop_s: float = LIVE_HOP_S, history_s: float = 300.0,
                 background: bool = False, max_queued: int = 3, labels: Sequence[str] | None = None):
        if window_s <= 0 or hop_s <= 0:
            raise ValueError(f"window_s and hop_s must be positive, got {window_s} and {hop_s}")
        self._predict = predict
        self.labels = list(labels) if labels is not None else None
        self.sample_rate = int(sample_rate)
        hop = int(round(hop_s * sample_rate))
        self._windows = SlidingWindows(segment_n=int(round(window_s * sample_rate)), hop_n=hop, min_n=hop)
        self._history_rows = max(1, int(history_s / hop_s))
        self._lock = threading.Lock()
        self._resampler: av.AudioResampler | None = None
        self._source_key: int | None = None
        self._queue: queue.Queue | None = queue.Queue(maxsize=max_queued) if background else None
        if background:
            threading.Thread(target=self._worker, name="live-emotion", daemon=True).start()
        self.reset()

    def _worker(self) -> None:
        while True:
            window, end_s = self._queue.get()
            try:
                self._classify(window, end_s=end_s)
            finally:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued window has been classified (no-op without background)."""
        if self._queue is not None:
            self._queue.join()

    def reset(self) -> None:
        """Forget the buffer, the timeline and the last status."""
        with self._lock:
            self._windows.reset()
            self._windows_heard: list[Prediction] = []
            self.status = "waiting for audio"
            self.last_update = 0.0

    def __call__(self, frame: av.AudioFrame) -> av.AudioFrame:
        """WebRTC audio frame callback (or sink callback): consume the frame, hand it back."""
        key = frame.sample_rate
        if self._resampler is None or key != self._source_key:
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.sample_rate)
            self._source_key = key
        self.feed(frame_to_mono(frame, resampler=self._resampler))
        return frame

    def feed(self, samples: np.ndarray) -> None:
        """Append mono samples at ``sample_rate`` and predict for every completed window."""
        with self._lock:
            windows = [(start + len(window), window) for start, window in self._windows.feed(samples)]
        for end, window in windows:
            end_s = end / self.sample_rate
            if self._queue is None:
                self._classify(window, end_s=end_s)
                continue
            while True:
                try:
                    self._queue.put_nowait((window, end_s))
                    break
                except queue.Full:  # the model is slower than real time: drop the oldest window
                    try:
                        self._queue.get_nowait()
                        self._queue.task_done()
                    except queue.Empty:
                        pass

    def _classify(self, window: np.ndarray, *, end_s: float) -> None:
        try:
            heard = self._predict(window)
        except SERError as exc:
            # Silence and too-short windows are normal in a live stream: report, keep going.
            with self._lock:
                self.status = str(exc)
                self.last_update = time.monotonic()
            return
        start_s = max(0.0, end_s - len(window) / self.sample_rate)
        heard = heard.replace(source=MICROPHONE, start_s=round(start_s, 3), end_s=round(end_s, 3))
        with self._lock:
            self._windows_heard.append(heard)
            del self._windows_heard[:-self._history_rows]
            self.status = f"{heard.label} ({heard.score:.0%})"
            self.last_update = time.monotonic()

    @property
    def received_s(self) -> float:
        """Seconds of audio received since the last reset."""
        with self._lock:
            return self._windows.received / self.sample_rate

    def timeline(self) -> Timeline:
        """A copy of the timeline heard so far (the last ``history_s`` seconds), one prediction per window."""
        with self._lock:
            windows = list(self._windows_heard)
        labels = self.labels if self.labels is not None else (windows[0].labels if windows else [])
        return Timeline(windows, labels=labels, source=MICROPHONE)


def monitor_for(model, *, sample_rate: int = 16000, window_s: float = SEGMENT_S,
                hop_s: float = LIVE_HOP_S, background: bool = True) -> LiveEmotionMonitor:
    """A monitor that classifies with any ``ser_core`` model kind (``model.predict_audio``)."""

    def predict(y: np.ndarray) -> Prediction:
        """The prediction of one window."""
        return model.predict_audio(y, sample_rate=sample_rate)

    return LiveEmotionMonitor(predict, sample_rate=sample_rate, window_s=window_s, hop_s=hop_s,
                              background=background, labels=model.labels)


def audio_sink(monitor: LiveEmotionMonitor):
    """A streamlit-webrtc sink that hands every incoming microphone frame to ``monitor``.

    A sink consumes the browser's track without sending audio back (no echo), and is
    pulled even though nothing plays it, unlike a frame callback on a blocked track.
    """
    from streamlit_webrtc.sink import CallbackSinkTrack

    return CallbackSinkTrack(monitor, kind="audio")
