"""Flatten model folders' metrics into the tables the Home and comparison pages show."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

#: The study's own figures (SPEC.md), random stratified 80/20 split, 288 test clips.
STUDY_RESULTS = pd.DataFrame(
    [
        {"model": "LSTM", "train_accuracy": 0.2161, "accuracy": 0.2188, "macro_f1": 0.12},
        {"model": "CNN", "train_accuracy": 0.4557, "accuracy": 0.4618, "macro_f1": 0.44},
        {"model": "CNN+LSTM", "train_accuracy": 0.8828, "accuracy": 0.6389, "macro_f1": 0.64},
        {"model": "Wav2Vec2 + RF", "train_accuracy": 1.0, "accuracy": 0.4861, "macro_f1": 0.47},
    ]
)
STUDY_LABEL = "reported by the study (random split)"

#: Our registry names of the study's four systems, matched to the study's table rows.
STUDY_MODEL_NAMES = {"lstm": "LSTM", "cnn": "CNN", "cnn_lstm": "CNN+LSTM", "wav2vec2_rf": "Wav2Vec2 + RF"}

METRIC_COLUMNS = ("accuracy", "uar", "macro_f1", "train_accuracy")


def _mean(value):
    """A metric as one number: the mean of a ``{mean, std}`` summary, or the value itself."""
    if isinstance(value, Mapping):
        return value.get("mean")
    return value


def _std(value):
    return value.get("std") if isinstance(value, Mapping) else None


def _protocols(metrics: Mapping) -> dict[str, Mapping]:
    """``{protocol: result}`` whether metrics are grouped by protocol or flat for one protocol."""
    protocols = metrics.get("protocols")
    if isinstance(protocols, Mapping) and protocols:
        return dict(protocols)
    if any(key in metrics for key in METRIC_COLUMNS):
        return {"evaluation": {"summary": metrics}}
    return {}


def _mapping(value) -> Mapping:
    """``value`` when it is a mapping, else an empty dict (a table cell may hold NaN)."""
    return value if isinstance(value, Mapping) else {}


def _error(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _training_time_s(row: Mapping, metrics: Mapping):
    for source in (metrics, _mapping(_mapping(row.get("config")).get("training"))):
        for key in ("training_time_s", "train_time_s", "time_s", "fit_time_s"):
            if source.get(key) is not None:
                return source[key]
    return None


def comparison_table(artifacts: Iterable[Mapping], *, default_name: str | None = None) -> pd.DataFrame:
    """One row per (model folder, protocol) with the comparison page's columns.

    Folders that could not be read keep one row whose ``error`` says why.
    """
    rows = []
    for artifact in artifacts:
        base = {
            "name": artifact.get("name"),
            "model": artifact.get("model"),
            "features": artifact.get("features"),
            "default": artifact.get("name") == default_name,
            "path": artifact.get("path"),
            "error": _error(artifact.get("error")),
        }
        metrics = _mapping(artifact.get("metrics"))
        base.update(
            n_parameters=metrics.get("n_parameters"),
            size_mb=(metrics.get("size_bytes") or 0) / 1e6 if metrics.get("size_bytes") else None,
            training_time_s=_training_time_s(artifact, metrics),
            latency_ms=metrics.get("latency_ms_per_3s_clip", metrics.get("latency_ms")),
        )
        protocols = _protocols(metrics)
        if not protocols:
            rows.append({**base, "protocol": None})
            continue
        for protocol, result in protocols.items():
            summary = result.get("summary", result)
            row = {**base, "protocol": protocol,
                   "protocol_description": result.get("description", protocol)}
            for column in METRIC_COLUMNS:
                row[column] = _mean(summary.get(column))
                row[f"{column}_std"] = _std(summary.get(column))
            rows.append(row)
    columns = ["name", "model", "features", "protocol", "protocol_description", *METRIC_COLUMNS,
               *(f"{c}_std" for c in METRIC_COLUMNS), "n_parameters", "size_mb", "training_time_s",
               "latency_ms", "default", "path", "error"]
    return pd.DataFrame(rows, columns=columns)


#: Protocols in the order the study comparison shows them: the study's own split first.
PROTOCOL_ORDER = ("random", "kfold", "holdout")


def study_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """The study's four systems: its reported figures beside our best model of each kind, per protocol."""
    side = STUDY_RESULTS.rename(columns={"train_accuracy": "study: train acc", "accuracy": "study: test acc",
                                         "macro_f1": "study: macro F1"})
    ours = table[table["model"].isin(STUDY_MODEL_NAMES)].assign(
        study_model=lambda t: t["model"].map(STUDY_MODEL_NAMES))
    # The like-for-like comparison (the study's own random split) first, then the honest ones.
    order = {protocol: rank for rank, protocol in enumerate(PROTOCOL_ORDER)}
    protocols = sorted(ours["protocol"].unique(), key=lambda p: (order.get(p, len(order)), p))
    for protocol in protocols:
        group = ours[ours["protocol"] == protocol]
        best = group.sort_values("accuracy", ascending=False).drop_duplicates("study_model")
        label = best["protocol_description"].iloc[0]
        side = side.merge(best[["study_model", "accuracy", "macro_f1"]].rename(columns={
            "study_model": "model", "accuracy": f"ours: test acc ({label})",
            "macro_f1": f"ours: macro F1 ({label})"}), on="model", how="left")
    return side


def protocol_results(metrics: Mapping, protocol: str) -> Mapping:
    """The per-protocol result block (with ``summary``, and ``folds`` or a single evaluation)."""
    return _protocols(metrics).get(protocol, {})


def detailed_evaluation(result: Mapping) -> Mapping | None:
    """The evaluation dict with ``per_class`` and ``confusion`` for one protocol, summed over folds.

    A k-fold result's confusion matrices are added up (every clip is tested exactly once)
    and per-class figures recomputed from the sum.
    """
    for key in ("evaluation", "test", "metrics"):
        if isinstance(result.get(key), Mapping) and "confusion" in result[key]:
            return result[key]
    if "confusion" in result:
        return result
    summary = result.get("summary", {})
    if isinstance(summary, Mapping) and "confusion" in summary:
        return summary
    folds = [f for f in result.get("folds", []) if isinstance(f, Mapping) and "confusion" in f]
    if not folds:
        return None
    import numpy as np
    from ser_core.evaluate import evaluate_predictions

    labels = list(folds[0]["labels"])
    total = np.sum([np.asarray(f["confusion"]) for f in folds if list(f["labels"]) == labels], axis=0)
    y_true, y_pred = [], []
    for i, true in enumerate(labels):
        for j, pred in enumerate(labels):
            y_true += [true] * int(total[i, j])
            y_pred += [pred] * int(total[i, j])
    return evaluate_predictions(y_true, y_pred, labels=labels)


def default_name(root: Path) -> str | None:
    """The name in ``<root>/DEFAULT``, or None when there is no readable default."""
    from ser_core.artifacts import default_model_dir
    from ser_core.errors import ArtifactError

    try:
        return default_model_dir(root).name
    except ArtifactError:
        return None


def segment_timeline(entries: Iterable[Mapping]) -> pd.DataFrame:
    """``predict_segments`` output as a table: start_s, end_s, time_s (centre), label, one column per emotion.

    Silent or too-short windows keep their row with empty probabilities.
    """
    rows = []
    for entry in entries:
        row = {"start_s": float(entry["start_s"]), "end_s": float(entry["end_s"]),
               "label": entry.get("label")}
        row["time_s"] = (row["start_s"] + row["end_s"]) / 2
        row.update(entry.get("probabilities") or {})
        rows.append(row)
    return pd.DataFrame(rows)


def mean_segment_probabilities(timeline: pd.DataFrame, labels: Iterable[str]) -> dict[str, float] | None:
    """``{emotion: mean probability}`` over the voiced segments of a timeline, or None when none is voiced."""
    voiced = timeline.dropna(subset=["label"])
    if voiced.empty:
        return None
    return {label: float(voiced[label].mean()) for label in labels}


def model_card(folder: str | Path) -> str | None:
    """The Markdown model card of a model folder, or None when it has none."""
    from ser_core.artifacts import CARD_FILE

    path = Path(folder) / CARD_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else None
