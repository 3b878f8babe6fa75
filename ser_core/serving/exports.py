"""Predictions as CSV: one row per clip, per timeline segment, or per long recording's summary.

The one table format for ``predict --csv``, the Predict page's download buttons and the
live microphone's history. Columns, in order: ``path``, ``row`` (``clip``, ``segment`` or
``summary``), ``start_s`` and ``end_s`` (empty for a whole clip; a summary spans its
recording), ``label``, one ``prob_<label>`` column per label of the model, then
``error`` (why a file or window was not classified). Probability columns are prefixed so
that any label name, even ``path``, stays a column of its own.

Examples
--------
>>> text = records_csv([{"path": "a.wav", "label": "sad", "probabilities": {"sad": 0.75, "angry": 0.25}}],
...                    labels=["sad", "angry"])
>>> text.splitlines()
['path,row,start_s,end_s,label,prob_sad,prob_angry,error', 'a.wav,clip,,,sad,0.75,0.25,']
"""

from __future__ import annotations

import csv
import io

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


def record_row(record: dict, labels) -> dict:
    """One CSV row from a predict record (:func:`ser_core.serving.predict.iter_predictions`) or a timeline entry.

    A record with ``summary`` is a ``summary`` row spanning 0 to its ``duration_s``; one
    with ``start_s`` a ``segment``; any other a ``clip``.
    """
    if record.get("summary"):
        kind, start_s, end_s = "summary", 0.0, record.get("duration_s")
    elif record.get("start_s") is not None:
        kind, start_s, end_s = "segment", record["start_s"], record.get("end_s")
    else:
        kind, start_s, end_s = "clip", None, None
    probabilities = record.get("probabilities") or {}
    row = {"path": str(record.get("path", "")), "row": kind, "start_s": _number(start_s, decimals=3),
           "end_s": _number(end_s, decimals=3), "label": record.get("label") or ""}
    for label in labels:
        value = probabilities.get(label)
        row[PROBABILITY_PREFIX + str(label)] = "" if value is None else _number(value)
    row["error"] = record.get("error", "")
    return row


class PredictionsCsv:
    """Writes predict records to an open text file, one CSV row each, header first."""

    def __init__(self, handle, *, labels):
        self.labels = [str(label) for label in labels]
        self._writer = csv.DictWriter(handle, fieldnames=csv_columns(self.labels), lineterminator="\n")
        self._writer.writeheader()
        self.rows = 0

    def write(self, record: dict) -> None:
        """Write one record's row."""
        self._writer.writerow(record_row(record, self.labels))
        self.rows += 1


def write_records_csv(records, handle, *, labels) -> int:
    """Write predict records to an open text file as CSV rows (as they come); return the rows written."""
    out = PredictionsCsv(handle, labels=labels)
    for record in records:
        out.write(record)
    return out.rows


def records_csv(records, *, labels) -> str:
    """Predict records as CSV text (see :func:`write_records_csv`)."""
    buffer = io.StringIO()
    write_records_csv(records, buffer, labels=labels)
    return buffer.getvalue()
