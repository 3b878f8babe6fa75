"""ui.live: the WebRTC frame callback driven directly with PyAV AudioFrames."""

import threading

import av
import numpy as np
import pytest

from conftest import speechlike
from ser_core.errors import SilentAudioError
from ser_core.modelfolder.prediction import Prediction
from ui.live import LiveEmotionMonitor, audio_sink, frame_to_mono, monitor_for


def frames_of(y: np.ndarray, *, sample_rate: int, layout: str = "mono", fmt: str = "s16",
              frame_s: float = 0.02):
    """Cut float audio into PyAV frames the way a browser's WebRTC track delivers them."""
    n = int(sample_rate * frame_s)
    channels = 2 if layout == "stereo" else 1
    for start in range(0, len(y) - n + 1, n):
        chunk = y[start:start + n]
        if fmt == "s16":
            data = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
            data = np.repeat(data[None], channels, axis=0).T.reshape(1, -1)  # packed
        else:  # planar float
            data = np.repeat(chunk[None].astype(np.float32), channels, axis=0)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = start
        yield frame


def heard(probs):
    """A prediction of ``{label: probability}``."""
    return Prediction.from_proba(list(probs.values()), labels=list(probs))


class Recorder:
    """A predict function that records what it was given."""

    def __init__(self, probs=None, error=None):
        self.windows, self.probs, self.error = [], probs or {"happy": 0.7, "sad": 0.3}, error

    def __call__(self, y):
        self.windows.append(y.copy())
        if self.error:
            raise self.error
        return heard(self.probs)


@pytest.mark.parametrize(("sample_rate", "layout", "fmt"),
                         [(48000, "stereo", "s16"), (48000, "mono", "fltp"), (44100, "mono", "s16"),
                          (16000, "mono", "s16")])
def test_frames_of_any_rate_and_layout_become_16k_mono(sample_rate, layout, fmt):
    y = speechlike(duration_s=4.2, sample_rate=sample_rate)
    recorder = Recorder()
    monitor = LiveEmotionMonitor(recorder, sample_rate=16000, window_s=3.0, hop_s=1.0)
    for frame in frames_of(y, sample_rate=sample_rate, layout=layout, fmt=fmt):
        assert monitor(frame) is frame, "the callback hands every frame back"
    assert monitor.received_s == pytest.approx(len(y) / sample_rate, abs=0.05)  # 4.8 s with padding
    timeline = monitor.timeline().to_frame()
    assert list(timeline["end_s"].round()) == [1, 2, 3, 4]
    assert list(timeline["start_s"].round()) == [0, 0, 0, 1]  # windows grow to 3 s, then roll
    # the window grows to 3 s, then rolls (within a frame or two of resampler latency)
    assert np.allclose([len(w) for w in recorder.windows], [16000, 32000, 48000, 48000], atol=800)
    assert max(len(w) for w in recorder.windows) == 48000
    assert list(timeline["label"]) == ["happy"] * 4 and monitor.status == "happy (70%)"
    resampled = np.concatenate(recorder.windows[-1:])
    assert np.abs(resampled).max() == pytest.approx(np.abs(y).max(), rel=0.1)


def test_frame_to_mono_averages_stereo_channels():
    left = np.full(960, 0.5, dtype=np.float32)
    data = np.stack([left, -left])  # planar stereo that cancels out
    frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
    frame.sample_rate = 48000
    out = frame_to_mono(frame, resampler=av.AudioResampler(format="flt", layout="mono", rate=48000))
    assert out.dtype == np.float32 and np.allclose(out, 0, atol=1e-6)


def test_silent_windows_set_the_status_and_add_no_row():
    monitor = LiveEmotionMonitor(Recorder(error=SilentAudioError("audio is silent")), hop_s=0.5)
    monitor.feed(np.zeros(16000, dtype=np.float32))
    assert len(monitor.timeline()) == 0 and monitor.status == "audio is silent"


def test_history_is_bounded_and_reset_clears():
    monitor = LiveEmotionMonitor(Recorder(), window_s=1.0, hop_s=0.5, history_s=2.0)
    for _ in range(20):
        monitor.feed(np.ones(8000, dtype=np.float32) * 0.1)
    assert len(monitor.timeline()) == 4
    monitor.reset()
    assert len(monitor.timeline()) == 0 and monitor.received_s == 0


@pytest.mark.parametrize(("window_s", "hop_s"), [(0, 1), (3, 0), (-1, 1)])
def test_bad_window_settings_are_rejected(window_s, hop_s):
    with pytest.raises(ValueError, match="positive"):
        LiveEmotionMonitor(Recorder(), window_s=window_s, hop_s=hop_s)


def test_background_prediction_keeps_order_and_drops_the_oldest_when_slow():
    release = threading.Event()
    seen = []

    def slow(y):
        release.wait(5)
        seen.append(len(y))
        return heard({"calm": 1.0})

    monitor = LiveEmotionMonitor(slow, window_s=1.0, hop_s=1.0, background=True, max_queued=2)
    for _ in range(6):  # six windows arrive while the model is stuck on the first
        monitor.feed(np.full(16000, 0.1, dtype=np.float32))
    release.set()
    monitor.flush()
    times = [window.end_s for window in monitor.timeline()]
    # the worker may or may not have taken the first window before the queue filled up
    assert times == sorted(times) and times[-2:] == [5.0, 6.0] and 2 <= len(times) <= 3


def test_audio_sink_feeds_the_monitor():
    recorder = Recorder()
    monitor = LiveEmotionMonitor(recorder, hop_s=0.5)
    sink = audio_sink(monitor)
    assert sink.kind == "audio" and not sink.hasTrack()
    for frame in frames_of(speechlike(duration_s=1.0), sample_rate=16000):
        sink._callback(frame)
    assert len(recorder.windows) >= 2


def test_frames_from_a_webrtc_thread_while_the_page_reads(app_models):
    from ser_core.modelfolder.read import load_model

    model = load_model(app_models / "tiny-logreg", trust=True)
    monitor = monitor_for(model)
    y = np.concatenate([np.zeros(16000, np.float32), speechlike(duration_s=4.0, sample_rate=48000)[::3]])
    frames = list(frames_of(np.repeat(y, 3), sample_rate=48000, layout="stereo"))
    worker = threading.Thread(target=lambda: [monitor(f) for f in frames])
    worker.start()
    while worker.is_alive():
        monitor.timeline()  # the page's fragment polls while frames arrive
    worker.join()
    monitor.flush()
    timeline = monitor.timeline()
    assert len(timeline) >= 3 and timeline.labels == model.labels and timeline.source == "microphone"
    frame = timeline.to_frame()
    assert set(frame["label"]) <= set(model.labels)
    assert np.allclose(frame[model.labels].sum(axis=1), 1.0, atol=1e-5)


def test_tensorflow_after_a_dashboard_model_load_does_not_crash_the_live_path():
    """The dashboard loads every model through ui.cache, which imports aiortc first (see ui/__init__.py)."""
    import subprocess
    import sys

    code = ("from ui import cache; cache._load_model('artifacts/logmel-cnn'); import tensorflow, streamlit_webrtc; "
            "from ui.live import audio_sink, LiveEmotionMonitor; audio_sink(LiveEmotionMonitor(lambda y: None)); "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=str(__import__("app_support").REPO))
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
