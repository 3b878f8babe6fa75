"""The comparison table: one row per (model folder, protocol), the same for the CLI, the app and the report.

Rows tested on corpora the model was not trained on (``cross_corpus``, and ``loco``: each
corpus left out in turn) say so, with the shared labels and the clips left out; they
answer another question than within-corpus rows, so tables show them apart and the
headline of a model never comes from them. A ``loco`` row's figures are the mean over
the corpora; its ``per_corpus`` column holds each corpus's figures, and
:func:`per_corpus_rows` lays them out one row per (model, corpus left out) plus the mean.
"""

from __future__ import annotations

from ser_core.data.protocols import protocol_rank
from ser_core.modelfolder.results import ModelMetrics

#: Columns of a comparison row, in order.
COLUMNS = ("name", "model", "features", "labels", "n_labels", "protocol", "protocol_title", "speaker_independent",
           "cross_corpus", "test_corpus", "tested_corpora", "shared_labels", "n_left_out", "per_corpus",
           "accuracy", "accuracy_std", "uar", "uar_std", "macro_f1", "macro_f1_std", "train_accuracy",
           "n_parameters", "size_mb", "training_time_s", "latency_ms", "default", "path", "error")


def _training_time_s(config: dict, metrics: ModelMetrics):
    if metrics.training_time_s is not None:
        return metrics.training_time_s
    return (config.get("training") or {}).get("training_time_s")


def has_error(row) -> bool:
    """True for a row of an unreadable folder (an error message, not NaN or None)."""
    error = row.get("error")
    return isinstance(error, str) and bool(error)


def _tested_corpora(result, config: dict) -> str | None:
    """The corpora a within-corpus protocol tested on, as people write them (``RAVDESS``), or None.

    The result's own ``corpora`` when it names them (an ensemble scored on one member's corpus),
    else the corpora the model was trained on; None for figures on corpora left out.
    """
    from ser_core.reporting.summary import corpus_title

    if result.cross_corpus:
        return None
    training = config.get("training") or {}
    named = result.settings.get("corpora") or training.get("corpora") or (
        [training["corpus"]] if training.get("corpus") else [])
    return ", ".join(corpus_title(name) for name in sorted(named)) or None


def comparison_rows(artifacts, *, default_name: str | None = None) -> list[dict]:
    """Rows for every protocol of every model folder (:func:`ser_core.modelfolder.read.list_artifacts` entries).

    A folder that cannot be read keeps one row whose ``error`` says why (an error that is
    not text, such as the NaN a table gives a readable folder, means none).
    """
    rows = []
    for artifact in artifacts:
        base = dict.fromkeys(COLUMNS)
        base.update(name=artifact.get("name"), path=artifact.get("path"), default=artifact.get("name") == default_name)
        if has_error(artifact):  # a table cell may hold NaN for readable folders
            rows.append({**base, "error": artifact["error"]})
            continue
        config, metrics = artifact["config"], artifact["metrics"]
        labels = [str(label) for label in config.get("labels") or []]
        base.update(model=artifact.get("model"), features=artifact.get("features"), labels=", ".join(labels),
                    n_labels=len(labels), n_parameters=metrics.n_parameters,
                    size_mb=metrics.size_bytes / 1e6 if metrics.size_bytes else None,
                    training_time_s=_training_time_s(config, metrics), latency_ms=metrics.latency_ms_per_3s_clip)
        for result in metrics.ordered():
            rows.append({**base, "protocol": result.protocol, "protocol_title": result.title,
                         "speaker_independent": result.speaker_independent, "cross_corpus": result.cross_corpus,
                         **_tested_on(result), "tested_corpora": _tested_corpora(result, config),
                         **{key: result.mean(key) for key in ("accuracy", "uar", "macro_f1", "train_accuracy")},
                         **{f"{key}_std": result.std(key) for key in ("accuracy", "uar", "macro_f1")}})
    return rows


#: The shared labels of a leave-one-corpus-out row: each corpus has its own (its per-corpus rows list them).
SHARED_PER_CORPUS = "each corpus its own"


def _tested_on(result) -> dict:
    """``test_corpus``, ``shared_labels``, ``n_left_out`` and ``per_corpus`` of a row (None within a corpus)."""
    settings = result.settings if result.cross_corpus else {}
    per_corpus = result.per_corpus
    if per_corpus:
        return {"test_corpus": f"each left out in turn: {', '.join(row['corpus'] for row in per_corpus)}",
                "shared_labels": SHARED_PER_CORPUS,
                "n_left_out": sum(row["n_left_out"] or 0 for row in per_corpus), "per_corpus": per_corpus}
    return {"test_corpus": settings.get("corpus"),
            "shared_labels": ", ".join(settings["shared_labels"]) if settings.get("shared_labels") else None,
            "n_left_out": settings.get("n_left_out"), "per_corpus": None}


#: What a model's name gets in per-corpus tables for its figures adapted to each voice (``loco_speaker_adapted``).
ADAPTED_SUFFIX = " (adapted to each voice)"


def shown_name(row: dict) -> str:
    """A row's model name, with :data:`ADAPTED_SUFFIX` when its figures were adapted to each voice."""
    return row["name"] + (ADAPTED_SUFFIX if str(row.get("protocol", "")).endswith("_speaker_adapted") else "")


def per_corpus_rows(rows: list[dict]) -> list[dict]:
    """Leave-one-corpus-out figures, one row per (model, corpus left out), then the model's mean over corpora.

    A model's figures adapted to each voice come under its name with :data:`ADAPTED_SUFFIX`.
    Each row has ``name``, ``corpus`` (``mean of N`` for the mean), ``n_test_clips``,
    ``shared_labels``, ``accuracy``, ``uar`` and ``macro_f1``.
    """
    table = []
    for row in rows:
        if has_error(row) or not isinstance(row.get("per_corpus"), list):
            continue
        name = shown_name(row)
        for corpus in row["per_corpus"]:
            table.append({"name": name, "corpus": corpus["corpus"], "n_test_clips": corpus["n_test_clips"],
                          "shared_labels": ", ".join(corpus["shared_labels"] or []),
                          **{key: corpus[key] for key in ("accuracy", "uar", "macro_f1")}})
        table.append({"name": name, "corpus": f"mean of {len(row['per_corpus'])}",
                      "n_test_clips": sum(corpus["n_test_clips"] or 0 for corpus in row["per_corpus"]),
                      "shared_labels": SHARED_PER_CORPUS,
                      **{key: row[key] for key in ("accuracy", "uar", "macro_f1")}})
    return table


def headline_rows(rows: list[dict]) -> list[dict]:
    """One row per model folder: its figure on the most honest within-corpus protocol it has (new speakers first)."""
    best = {}
    for row in rows:
        if has_error(row) or not isinstance(row.get("protocol"), str) or row.get("cross_corpus"):
            continue
        current = best.get(row["name"])
        if current is None or protocol_rank(row["protocol"]) < protocol_rank(current["protocol"]):
            best[row["name"]] = row
    return sorted(best.values(), key=lambda row: (protocol_rank(row["protocol"]), -(row["accuracy"] or 0)))


def best_on_new_speakers(rows: list[dict]) -> dict | None:
    """The model with the highest single-clip accuracy on speakers it never heard (k-fold or held-out actors)."""
    candidates = [row for row in rows if not has_error(row) and row.get("protocol") in ("kfold", "holdout")]
    return max(candidates, key=lambda row: (row["accuracy"] or 0, row["uar"] or 0), default=None)
