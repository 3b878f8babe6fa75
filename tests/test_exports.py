"""Tests for ser_core.serving.exports: predictions as CSV rows (clips, segments, summaries, errors)."""

import csv
import io

from ser_core.modelfolder.prediction import Prediction, Timeline
from ser_core.serving.exports import PredictionsCsv, csv_columns, csv_row, predictions_csv

LABELS = ["sad", "path", "alegría"]  # a label may be named like a column, or in any language


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_columns_prefix_every_label():
    assert csv_columns(LABELS) == ["path", "row", "start_s", "end_s", "label", "prob_sad", "prob_path",
                                   "prob_alegría", "error"]


def test_clip_segment_summary_and_error_rows():
    windows = [Prediction.from_proba([0.1, 0.1, 0.8], labels=LABELS, source="long.wav", start_s=0.0, end_s=3.0),
               Prediction.failed("silent", source="long.wav", start_s=1.5, end_s=61.25)]
    records = [Prediction.from_proba([0.5, 0.3, 0.2], labels=LABELS, source="short.wav"), *windows,
               Timeline(windows, labels=LABELS, source="long.wav").summary(),
               Prediction.failed("cannot be decoded", source="broken.wav")]
    rows = _rows(predictions_csv(records, labels=LABELS))
    assert [r["row"] for r in rows] == ["clip", "segment", "segment", "summary", "clip"]
    assert (rows[0]["start_s"], rows[0]["end_s"], rows[0]["prob_path"]) == ("", "", "0.3")
    assert (rows[1]["start_s"], rows[1]["end_s"], rows[1]["label"], rows[1]["prob_alegría"]) == ("0.0", "3.0", "alegría",
                                                                                                "0.8")
    assert (rows[2]["label"], rows[2]["prob_sad"], rows[2]["error"]) == ("", "", "silent")
    assert (rows[3]["start_s"], rows[3]["end_s"]) == ("0.0", "61.25")
    assert rows[4]["error"] == "cannot be decoded" and rows[4]["label"] == ""


def test_writer_streams_and_counts():
    buffer = io.StringIO()
    table = PredictionsCsv(buffer, labels=["sad"])
    table.write(Prediction.from_proba([1.0], labels=["sad"], source="a.wav"))
    assert table.rows == 1 and buffer.getvalue().splitlines()[1] == "a.wav,clip,,,sad,1.0,"
    assert csv_row(Prediction.failed("silent", source="b.wav", start_s=1, end_s=2.5), ["sad"])["row"] == "segment"


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text():
    """A visitor's file name, a corpus's label or an error must never become a live formula in Excel."""
    import csv
    import io

    hostile = '=HYPERLINK("https://evil.example","open").wav'
    rows = [Prediction.from_proba([0.9, 0.1], labels=["@sum", "calm"], source=hostile),
            Prediction.failed("-1 samples", source="+cmd.wav")]
    table = list(csv.DictReader(io.StringIO(predictions_csv(rows, labels=["@sum", "calm"]))))
    assert [row["path"] for row in table] == ["'" + hostile, "'+cmd.wav"]
    assert table[0]["label"] == "'@sum" and table[1]["error"] == "'-1 samples"
    assert table[0]["prob_@sum"] == "0.9"  # numbers and headers stay as they are
