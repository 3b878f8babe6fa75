"""Tables the pages show: model folders as comparison rows, the study beside us, a model's card.

A timeline's table is made by :meth:`ser_core.modelfolder.prediction.Timeline.to_frame`, where a page draws it.
"""

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
    """The columns a page shows for cross-corpus rows: name, test corpus and the figures first (on a laptop's
    screen), then shared labels, clips left out, model and features.

    Figures adapted to each voice carry :data:`~ser_core.reporting.comparison.ADAPTED_SUFFIX` in their name.
    """
    from ser_core.reporting.comparison import shown_name

    view = cross[["name", "test_corpus", "accuracy", "uar", "macro_f1", "shared_labels", "n_left_out", "model",
                  "features"]].reset_index(drop=True)
    view["name"] = [shown_name(row) for row in cross.to_dict("records")]
    return view


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


def model_card(folder: str | Path) -> str | None:
    """The Markdown model card of a model folder, or None when it has none."""
    from ser_core.modelfolder.read import CARD_FILE

    path = Path(folder) / CARD_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else None


def headline_glance(rows: Iterable[Mapping], *, default: str | None) -> tuple[pd.DataFrame, dict]:
    """``(glance, same)``: each model on its most honest figure (``headline_rows`` records), the default starred.

    Columns identical in every row are taken out by :func:`phone_friendly`; ``same`` holds them for a caption.
    """
    from ser_core.formatting import percent_spread

    rows = list(rows)
    glance = pd.DataFrame({
        "model": [row["name"] + (" ★" if row["name"] == default else "") for row in rows],
        "accuracy": [percent_spread(row["accuracy"], row["accuracy_std"]) for row in rows],
        "UAR": [percent_spread(row["uar"], row["uar_std"]) for row in rows],
        "tested on": [f"{row['tested_corpora']}: {row['protocol_title']}" if row.get("tested_corpora")
                      else row["protocol_title"] for row in rows],
    })
    return phone_friendly(glance, keep=("model", "accuracy", "UAR"))


def phone_friendly(frame: pd.DataFrame, *, keep: Iterable[str] = ("model",)) -> tuple[pd.DataFrame, dict]:
    """``(frame, same)``: the columns whose value is the same in every row taken out (``keep`` stays), and those values.

    A column identical in every row says one thing, once: the page writes it in a
    caption, and the table keeps its width for the figures a phone must show.
    """
    keep = set(keep)
    same = {column: frame[column].iloc[0] for column in frame.columns
            if column not in keep and len(frame) and frame[column].astype(str).nunique() == 1}
    return frame.drop(columns=list(same)), same


def column_config(frame: pd.DataFrame, *, pinned: Iterable[str] = ("model",)) -> dict:
    """``st.dataframe`` column settings: the ``pinned`` columns stay on screen while a narrow table scrolls."""
    import streamlit as st

    return {column: st.column_config.Column(pinned=True) for column in pinned if column in frame.columns}
