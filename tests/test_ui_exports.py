"""ui.exports: the Predict page's CSV downloads (one clip, a timeline, the live session)."""

import csv
import io

import pandas as pd

from ui import exports, tables

LABELS = ["happy", "sad", "calma"]


def _rows(data: bytes):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_one_clip_is_one_row_with_every_label():
    rows = _rows(exports.prediction_csv("clip.wav", labels=LABELS, probabilities={"happy": 0.2, "sad": 0.7,
                                                                                    "calma": 0.1}))
    assert rows == [{"path": "clip.wav", "row": "clip", "start_s": "", "end_s": "", "label": "sad",
                     "prob_happy": "0.2", "prob_sad": "0.7", "prob_calma": "0.1", "error": ""}]
    assert exports.file_name("my clip.webm") == "my clip-emotions.csv"


def test_a_timeline_keeps_silent_windows_and_ends_with_its_summary():
    timeline = tables.segment_timeline([
        {"start_s": 0.0, "end_s": 3.0, "label": "calma", "probabilities": {"happy": 0.1, "sad": 0.2, "calma": 0.7}},
        {"start_s": 1.5, "end_s": 4.5, "label": None, "probabilities": None, "error": "silent"},
        {"start_s": 3.0, "end_s": 6.0, "label": "calma", "probabilities": {"happy": 0.3, "sad": 0.1, "calma": 0.6}},
    ])
    summary = tables.summarize_segments(timeline, LABELS)
    assert summary["label"] == "calma" and summary["n_silent"] == 1
    rows = _rows(exports.prediction_csv("long.wav", labels=LABELS, probabilities=summary["probabilities"],
                                        timeline=timeline, summary=summary, duration_s=6.0))
    assert [(r["row"], r["start_s"], r["end_s"], r["label"]) for r in rows] == [
        ("segment", "0.0", "3.0", "calma"), ("segment", "1.5", "4.5", ""), ("segment", "3.0", "6.0", "calma"),
        ("summary", "0.0", "6.0", "calma")]
    assert rows[1]["error"] and rows[1]["prob_calma"] == "" and rows[3]["prob_calma"] == "0.65"


def test_the_live_history_has_window_start_and_end():
    timeline = pd.DataFrame([{"time_s": 1.0, "start_s": 0.0, "label": "sad", "happy": 0.4, "sad": 0.6},
                             {"time_s": 4.0, "start_s": 1.0, "label": "happy", "happy": 0.9, "sad": 0.1}])
    rows = _rows(exports.live_csv(timeline))
    assert [(r["path"], r["start_s"], r["end_s"], r["label"], r["prob_happy"]) for r in rows] == [
        ("microphone", "0.0", "1.0", "sad", "0.4"), ("microphone", "1.0", "4.0", "happy", "0.9")]
