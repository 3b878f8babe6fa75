"""Tables the pages show: model folders as comparison rows, the study beside us, timelines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from ser_core.reporting.comparison import COLUMNS, comparison_rows
from ser_core.reporting.study_figures import STUDY_RESULTS, SYSTEM_TITLES


def comparison_table(artifacts: Iterable[Mapping], *, default_name: str | None = None) -> pd.DataFrame:
    """One row per (model folder, protocol) (see :func:`ser_core.reporting.comparison.comparison_rows`)."""
    return pd.DataFrame(comparison_rows(list(artifacts), default_name=default_name), columns=list(COLUMNS))


def study_comparison(table: pd.DataFrame, *, default_name: str | None = None) -> pd.DataFrame:
    """The study's four systems beside ours: its reported random-split figures, our same-protocol and new-speaker ones.

    The default model closes the table with its new-speaker figure (the study had no such protocol).
    """
    rows = []
    for model, title in SYSTEM_TITLES.items():
        study = STUDY_RESULTS[model]
        ours = table[(table["model"] == model) & table["error"].isna()]
        row = {"system": title, "study: test accuracy (random split)": study["accuracy"],
               "study: macro F1": study["macro_f1"]}
        for protocol, column in (("random_as_written", "ours: as the study ran it"),
                                 ("random", "ours: random split, clean"),
                                 ("kfold", "ours: new speakers")):
            match = ours[ours["protocol"] == protocol]
            row[column] = match["accuracy"].max() if not match.empty else None
        rows.append(row)
    if default_name is not None:
        default = table[(table["name"] == default_name) & (table["protocol"] == "kfold")]
        if not default.empty:
            rows.append({"system": f"our default ({default_name})", "ours: new speakers": default["accuracy"].iloc[0],
                         "ours: random split, clean": _value(table, default_name, "random")})
    return pd.DataFrame(rows)


def split_cross_corpus(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(within, cross)``: rows tested on the training corpus, and rows tested on another corpus.

    Cross-corpus figures answer another question (the shared labels of another corpus),
    so pages show them apart and never rank or average them with the others.
    """
    cross = table["cross_corpus"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return table[~cross], table[cross]


def cross_corpus_view(cross: pd.DataFrame) -> pd.DataFrame:
    """The columns a page shows for cross-corpus rows: model, test corpus, shared labels, clips left out, figures."""
    return cross[["name", "model", "features", "test_corpus", "shared_labels", "n_left_out", "accuracy", "uar",
                  "macro_f1"]].reset_index(drop=True)


def _value(table, name, protocol):
    match = table[(table["name"] == name) & (table["protocol"] == protocol)]
    return match["accuracy"].iloc[0] if not match.empty else None


def default_name(root: Path) -> str | None:
    """The name in ``<root>/DEFAULT``, or None when there is no readable default."""
    from ser_core.errors import ArtifactError
    from ser_core.modelfolder.read import default_model_dir

    try:
        return default_model_dir(root).name
    except ArtifactError:
        return None


def segment_timeline(entries: Iterable[Mapping]) -> pd.DataFrame:
    """Timeline entries as a table: start_s, end_s, time_s (centre), label, one column per emotion.

    Silent or too-short windows keep their row with empty probabilities.
    """
    rows = []
    for entry in entries:
        row = {"start_s": float(entry["start_s"]), "end_s": float(entry["end_s"]), "label": entry.get("label")}
        row["time_s"] = (row["start_s"] + row["end_s"]) / 2
        row.update(entry.get("probabilities") or {})
        rows.append(row)
    return pd.DataFrame(rows)


def timeline_entries(timeline: pd.DataFrame, labels: Iterable[str]) -> list[dict]:
    """Rows of a :func:`segment_timeline` table back as timeline entries (``label`` None for silent windows)."""
    entries = []
    for row in timeline.to_dict("records"):
        label = row.get("label")
        voiced = isinstance(label, str) and bool(label)
        entries.append({"start_s": row.get("start_s"), "end_s": row.get("end_s"), "label": label if voiced else None,
                        "probabilities": {str(k): float(row[k]) for k in labels if k in row} if voiced else None,
                        **({} if voiced else {"error": row.get("error") or "silent or too short to classify"})})
    return entries


def summarize_segments(timeline: pd.DataFrame, labels: Iterable[str]) -> dict | None:
    """The headline of a long recording from its timeline table (:func:`ser_core.serving.segments.summarize_timeline`)."""
    from ser_core.serving.segments import summarize_timeline

    labels = list(labels)
    return summarize_timeline(timeline_entries(timeline, labels), labels)


def model_card(folder: str | Path) -> str | None:
    """The Markdown model card of a model folder, or None when it has none."""
    from ser_core.modelfolder.read import CARD_FILE

    path = Path(folder) / CARD_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else None
