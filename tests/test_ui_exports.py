"""ui.exports: the Predict page's CSV downloads (one clip, a timeline, the live session)."""

import csv
import io

from ser_core.modelfolder.prediction import Prediction, Timeline
from ui import exports

LABELS = ["happy", "sad", "calma"]


def _rows(data: bytes):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_one_clip_is_one_row_with_every_label():
    clip = Prediction.from_proba([0.2, 0.7, 0.1], labels=LABELS, source="clip.wav")
    rows = _rows(exports.prediction_csv(clip, labels=LABELS))
    assert rows == [{"path": "clip.wav", "row": "clip", "start_s": "", "end_s": "", "label": "sad",
                     "prob_happy": "0.2", "prob_sad": "0.7", "prob_calma": "0.1", "error": ""}]
    assert exports.file_name("my clip.webm") == "my clip-emotions.csv"


def _window(start_s, proba=None):
    span = {"source": "long.wav", "start_s": start_s, "end_s": start_s + 3.0}
    return Prediction.failed("silent", **span) if proba is None else Prediction.from_proba(proba, labels=LABELS, **span)


def test_a_timeline_keeps_silent_windows_and_ends_with_its_summary():
    timeline = Timeline([_window(0.0, [0.1, 0.2, 0.7]), _window(1.5), _window(3.0, [0.3, 0.1, 0.6])],
                        labels=LABELS, source="long.wav")
    summary = timeline.summary()
    assert summary.label == "calma" and summary.n_silent == 1
    rows = _rows(exports.prediction_csv(summary, labels=LABELS, timeline=timeline))
    assert [(r["row"], r["start_s"], r["end_s"], r["label"]) for r in rows] == [
        ("segment", "0.0", "3.0", "calma"), ("segment", "1.5", "4.5", ""), ("segment", "3.0", "6.0", "calma"),
        ("summary", "0.0", "6.0", "calma")]
    assert rows[1]["error"] and rows[1]["prob_calma"] == "" and rows[3]["prob_calma"] == "0.65"


def test_the_live_history_has_window_start_and_end():
    windows = [Prediction.from_proba([0.4, 0.6, 0.0], labels=LABELS, source="microphone", start_s=0.0, end_s=1.0),
               Prediction.from_proba([0.9, 0.1, 0.0], labels=LABELS, source="microphone", start_s=1.0, end_s=4.0)]
    rows = _rows(exports.timeline_csv(Timeline(windows, labels=LABELS, source="microphone")))
    assert [(r["path"], r["start_s"], r["end_s"], r["label"], r["prob_happy"]) for r in rows] == [
        ("microphone", "0.0", "1.0", "sad", "0.4"), ("microphone", "1.0", "4.0", "happy", "0.9")]
