"""How often a model is right at each level of its top score, on speakers it never heard.

The figures come from the folder's out-of-fold predictions (``predictions.npz``) under
its most honest speaker-independent protocol (new speakers first), with the temperature
cross-fitted over the folds (:func:`ser_core.scoring.temperature.reliability_table`).
The model card prints the table and the Predict page words a score from it, so both say
the same thing.

Examples
--------
>>> table = folder_reliability("artifacts/cnn-compare-ensemble")  # doctest: +SKIP
>>> table.row_for(0.93)["accuracy"]  # doctest: +SKIP
0.97
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser_core.formatting import number, percent

#: Protocols whose out-of-fold predictions may stand for "a speaker it never heard", most honest first.
RELIABILITY_PROTOCOLS = ("kfold", "holdout")


@dataclass(frozen=True)
class Reliability:
    """A reliability table: ``rows`` of :func:`~ser_core.scoring.temperature.reliability_table` under ``title``."""

    protocol: str
    title: str
    rows: tuple

    def row_for(self, score: float) -> dict | None:
        """The row whose bin holds ``score`` (None when that bin holds no clip)."""
        for index, row in enumerate(self.rows):
            last = index == len(self.rows) - 1
            if row["low"] <= score and (score <= row["high"] if last else score < row["high"]):
                return row if row["n_clips"] else None
        return None

    def markdown(self) -> list[str]:
        """The table as Markdown lines: top score, clips, how often right."""
        lines = ["| top score | clips | right |", "|---|---|---|"]
        for row in self.rows:
            lines.append(f"| {bin_name(row)} | {number(row['n_clips'], decimals=0)} | {percent(row['accuracy'], decimals=0)} |")
        return lines


def bin_name(row: dict) -> str:
    """A bin in words: ``80-90%``, ``90% or more``, ``under 40%``."""
    low, high = round(100 * row["low"]), round(100 * row["high"])
    if low == 0:
        return f"under {high}%"
    if high == 100:
        return f"{low}% or more"
    return f"{low}-{high}%"


def folder_reliability(folder, *, metrics=None) -> Reliability | None:
    """The reliability table of a model folder, or None when it saved no speaker-independent predictions.

    ``metrics``: the folder's :class:`~ser_core.modelfolder.results.ModelMetrics` when the
    caller has them (they name the protocol); else read from the folder.
    """
    from ser_core.modelfolder.read import PREDICTIONS_FILE
    from ser_core.scoring.temperature import reliability_table

    path = Path(folder) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as arrays:
        for protocol in RELIABILITY_PROTOCOLS:
            needed = [f"{protocol}/{name}" for name in ("probabilities", "labels", "label_order")]
            if not all(name in arrays.files for name in needed):
                continue
            order = [str(label) for label in arrays[f"{protocol}/label_order"]]
            labels = [str(label) for label in arrays[f"{protocol}/labels"]]
            if not labels or any(label not in order for label in labels):
                continue
            y = np.array([order.index(label) for label in labels])
            folds = arrays[f"{protocol}/fold"] if f"{protocol}/fold" in arrays.files else None
            rows = reliability_table(arrays[f"{protocol}/probabilities"], y, folds=folds)
            return Reliability(protocol=protocol, title=_title(folder, protocol, metrics), rows=tuple(rows))
    return None


def _title(folder, protocol: str, metrics) -> str:
    """The protocol's plain name as the folder's metrics give it (its fold count or speakers)."""
    from ser_core.data.protocols import protocol_title
    from ser_core.errors import ArtifactError
    from ser_core.modelfolder.read import read_metrics

    try:
        result = (metrics if metrics is not None else read_metrics(folder)).protocols.get(protocol)
    except ArtifactError:
        result = None
    return result.title if result is not None else protocol_title(protocol)
