"""CSV downloads of the Predict page: one clip, a long clip's timeline, the live microphone's history.

Every table has the columns of :mod:`ser_core.serving.exports` (path, row, start_s, end_s, label,
one ``prob_<label>`` per label, error), made from the same
:class:`~ser_core.modelfolder.prediction.Prediction` objects the page shows, so a file
downloaded here reads like one written by ``python -m ser_core predict --csv``. Nothing
here imports streamlit: the page hands the bytes to ``st.download_button``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ser_core.serving.exports import predictions_csv

#: MIME type of every download.
CSV_MIME = "text/csv"


def file_name(name: str, *, what: str = "emotions") -> str:
    """A download name from the clip's name: ``clip.wav`` -> ``clip-emotions.csv``."""
    stem = Path(str(name)).stem or "prediction"
    return f"{stem}-{what}.csv"


def prediction_csv(result, *, labels: Sequence[str], timeline=None) -> bytes:
    """The Predict page's result as CSV bytes.

    A short clip is one ``clip`` row (``result``); a long one is one ``segment`` row per
    window of ``timeline`` (silent windows keep their row, unlabelled) and a closing
    ``summary`` row over the recording (:meth:`~ser_core.modelfolder.prediction.Timeline.summary`).
    """
    rows = [result] if timeline is None else [*timeline, timeline.summary()]
    return predictions_csv(rows, labels=labels).encode("utf-8")


def timeline_csv(timeline) -> bytes:
    """A timeline's windows as CSV bytes, one ``segment`` row each (the live microphone's history:
    ``start_s`` and ``end_s`` are seconds since the stream, or the last reset, began)."""
    return predictions_csv(timeline, labels=timeline.labels).encode("utf-8")
