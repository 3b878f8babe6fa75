"""Predictions as CSV: one row per clip, per timeline window, or per long recording's summary.

The one table format for ``predict --csv``, the Predict page's download buttons and the
live microphone's history; every row is made from a
:class:`~ser_core.modelfolder.prediction.Prediction`. Columns, in order: ``path``, ``row``
(``clip``, ``segment`` or ``summary``), ``start_s`` and ``end_s`` (empty for a whole clip; a
summary spans its recording), ``label``, one ``prob_<label>`` column per label of the
model, then ``error`` (why a file or window was not classified). Probability columns are
prefixed so that any label name, even ``path``, stays a column of its own. A text cell that a
spreadsheet would run as a formula (a file named ``=HYPERLINK(...).wav``) starts with an apostrophe.

Examples
--------
>>> from ser_core.modelfolder.prediction import Prediction
>>> text = predictions_csv([Prediction.from_proba([0.75, 0.25], labels=["sad", "angry"], source="a.wav")],
...                        labels=["sad", "angry"])
>>> text.splitlines()
['path,row,start_s,end_s,label,prob_sad,prob_angry,error', 'a.wav,clip,,,sad,0.75,0.25,']
"""

from __future__ import annotations

import csv
import io

from ser_core.formatting import spreadsheet_text
from ser_core.modelfolder.prediction import TimelineSummary

#: Columns before the probabilities.
LEADING_COLUMNS = ("path", "row", "start_s", "end_s", "label")
#: Columns after the probabilities.
TRAILING_COLUMNS = ("error",)
PROBABILITY_PREFIX = "prob_"


def csv_columns(labels) -> list[str]:
    """The header of a predictions table for a model with these labels."""
    return [*LEADING_COLUMNS, *(PROBABILITY_PREFIX + str(label) for label in labels), *TRAILING_COLUMNS]


def _number(value, *, decimals: int = 6):
    return "" if value is None else round(float(value), decimals)


def csv_row(prediction, labels) -> dict:
    """One CSV row of a :class:`~ser_core.modelfolder.prediction.Prediction`.

    A :class:`~ser_core.modelfolder.prediction.TimelineSummary` is a ``summary`` row
    spanning its recording; a prediction with ``start_s`` a ``segment``; any other a ``clip``.
    """
    if isinstance(prediction, TimelineSummary):
        kind, start_s, end_s = "summary", 0.0, prediction.duration_s if prediction.ok else None
    elif prediction.is_window:
        kind, start_s, end_s = "segment", prediction.start_s, prediction.end_s
    else:
        kind, start_s, end_s = "clip", None, None
    row = {"path": spreadsheet_text(prediction.source), "row": kind, "start_s": _number(start_s, decimals=3),
           "end_s": _number(end_s, decimals=3), "label": spreadsheet_text(prediction.label or "")}
    for label in labels:
        value = prediction.probabilities.get(label)
        row[PROBABILITY_PREFIX + str(label)] = "" if value is None else _number(value)
    row["error"] = spreadsheet_text(prediction.error or "")
    return row


class PredictionsCsv:
    """Writes predictions to an open text file, one CSV row each, header first."""

    def __init__(self, handle, *, labels):
        self.labels = [str(label) for label in labels]
        self._writer = csv.DictWriter(handle, fieldnames=csv_columns(self.labels), lineterminator="\n")
        self._writer.writeheader()
        self.rows = 0

    def write(self, prediction) -> None:
        """Write one prediction's row."""
        self._writer.writerow(csv_row(prediction, self.labels))
        self.rows += 1


def write_predictions_csv(predictions, handle, *, labels) -> int:
    """Write predictions to an open text file as CSV rows (as they come); return the rows written."""
    out = PredictionsCsv(handle, labels=labels)
    for prediction in predictions:
        out.write(prediction)
    return out.rows


def predictions_csv(predictions, *, labels) -> str:
    """Predictions as CSV text (see :func:`write_predictions_csv`)."""
    buffer = io.StringIO()
    write_predictions_csv(predictions, buffer, labels=labels)
    return buffer.getvalue()
