"""CSV downloads of the Predict page: one clip, a long clip's timeline, the live microphone's history.

Every table has the columns of :mod:`ser_core.serving.exports` (path, row, start_s, end_s, label,
one ``prob_<label>`` per label, error), so a file downloaded here reads like one written
by ``python -m ser_core predict --csv``. Nothing here imports streamlit: the page hands
the bytes to ``st.download_button``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ser_core.serving.exports import records_csv

#: MIME type of every download.
CSV_MIME = "text/csv"
#: The ``path`` column of the live microphone's rows.
MICROPHONE = "microphone"


def file_name(name: str, *, what: str = "emotions") -> str:
    """A download name from the clip's name: ``clip.wav`` -> ``clip-emotions.csv``."""
    stem = Path(str(name)).stem or "prediction"
    return f"{stem}-{what}.csv"


def _timeline_records(name: str, timeline: pd.DataFrame, labels: Sequence[str]) -> list[dict]:
    from ui.tables import timeline_entries

    return [{"path": name, **entry} for entry in timeline_entries(timeline, labels)]


def prediction_csv(name: str, *, labels: Sequence[str], probabilities: Mapping[str, float] | None = None,
                   timeline: pd.DataFrame | None = None, summary: Mapping | None = None,
                   duration_s: float | None = None) -> bytes:
    """The Predict page's result as CSV bytes.

    A short clip is one ``clip`` row with ``probabilities``; a long one is one
    ``segment`` row per window of ``timeline`` (:func:`ui.tables.segment_timeline`; silent
    windows keep their row, unlabelled) and, with ``summary``
    (:func:`ser_core.serving.segments.summarize_timeline`), a closing ``summary`` row over
    ``duration_s``.
    """
    if timeline is None:
        label = max(probabilities, key=probabilities.get) if probabilities else None
        records = [{"path": name, "label": label, "probabilities": dict(probabilities or {})}]
    else:
        records = _timeline_records(name, timeline, labels)
        if summary is not None:
            records.append({"path": name, "summary": True, "duration_s": duration_s, "label": summary["label"],
                            "probabilities": summary["probabilities"]})
    return records_csv(records, labels=labels).encode("utf-8")


def live_csv(timeline: pd.DataFrame, *, labels: Sequence[str] | None = None) -> bytes:
    """The live microphone's history (:meth:`ui.live.LiveEmotionMonitor.timeline`) as CSV bytes.

    One ``segment`` row per classified window: ``start_s`` and ``end_s`` are seconds since
    the stream (or the last reset) began.
    """
    from ser_core.reporting.charts import probability_columns

    labels = list(labels) if labels is not None else probability_columns(timeline)
    frame = timeline.rename(columns={"time_s": "end_s"})
    if "start_s" not in frame:
        frame = frame.assign(start_s=None)
    return records_csv(_timeline_records(MICROPHONE, frame, labels), labels=labels).encode("utf-8")
