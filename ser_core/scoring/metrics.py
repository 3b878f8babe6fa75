"""Scoring: accuracy, UAR, macro F1, the classification report, confusion, fold summaries."""

import numpy as np

from ser_core.errors import InputError

#: Headline metrics, each summarised over folds as ``{"mean", "std", "n"}``.
SUMMARY_KEYS = ("accuracy", "uar", "macro_f1", "train_accuracy")


def evaluate_predictions(y_true, y_pred, *, labels):
    """Return the study's metrics for one test set as a JSON-ready dict.

    Parameters
    ----------
    y_true, y_pred : array-like of str
        True and predicted label per clip.
    labels : sequence of str
        Class order of ``per_class`` and of the confusion matrix.

    Returns
    -------
    dict
        ``accuracy``, ``uar`` (balanced accuracy, the mean recall over the classes
        present in ``y_true``), ``macro_f1``, ``n_clips``, ``labels``, ``per_class``
        (label -> precision, recall, f1, support), ``confusion`` (rows = true labels,
        columns = predicted, in ``labels`` order), and ``best_emotion`` /
        ``worst_emotion`` with ``ranked_by: "recall"`` (classes with support only).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true = np.asarray(y_true).astype(str)
    y_pred = np.asarray(y_pred).astype(str)
    labels = [str(label) for label in labels]
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise InputError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal-length non-empty 1-D arrays")
    unknown = sorted(set(y_true.tolist()) - set(labels))
    if unknown:
        raise InputError(f"true labels {unknown} are not in labels {labels}")
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    present = support > 0
    per_class = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support)
    }
    ranked = [label for label, keep in zip(labels, present) if keep]
    by_recall = sorted(ranked, key=lambda label: (per_class[label]["recall"], per_class[label]["f1"]))
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "uar": float(np.mean(recall[present])),
        "macro_f1": float(np.mean(f1[present])),
        "n_clips": int(len(y_true)),
        "labels": labels,
        "per_class": per_class,
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "best_emotion": by_recall[-1],
        "worst_emotion": by_recall[0],
        "ranked_by": "recall",
    }


def summarize_folds(folds):
    """Return ``{metric: {"mean": m, "std": s, "n": folds}}`` over fold metric dicts (population std)."""
    if not folds:
        raise InputError("no folds to summarise")
    summary = {}
    for key in SUMMARY_KEYS:
        values = [fold[key] for fold in folds if fold.get(key) is not None]
        if values:
            summary[key] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}
    return summary


def pool_fold_confusions(folds):
    """One evaluation over every fold's test clips, from the folds' confusion matrices (None without any).

    Every clip is tested in exactly one fold, so the summed confusion matrix is the
    whole protocol's; the per-class figures are recomputed from it.
    """
    folds = [fold for fold in folds if isinstance(fold, dict) and "confusion" in fold]
    if not folds:
        return None
    labels = list(folds[0]["labels"])
    total = np.sum([np.asarray(fold["confusion"]) for fold in folds if list(fold["labels"]) == labels], axis=0)
    y_true = np.repeat(np.repeat(labels, len(labels)), total.ravel())
    y_pred = np.repeat(np.tile(labels, len(labels)), total.ravel())
    return evaluate_predictions(y_true, y_pred, labels=labels)


def format_report(metrics):
    """Return the classification report (per-class precision/recall/F1/support) as text."""
    lines = [f"{'':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label, row in metrics["per_class"].items():
        lines.append(f"{label:<12}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>10.2f}{row['support']:>10d}")
    lines.append("")
    lines.append(f"{'accuracy':<12}{metrics['accuracy']:>30.4f}{metrics['n_clips']:>10d}")
    lines.append(f"{'UAR':<12}{metrics['uar']:>30.4f}")
    lines.append(f"{'macro F1':<12}{metrics['macro_f1']:>30.4f}")
    lines.append(f"best emotion (by recall): {metrics['best_emotion']}; worst: {metrics['worst_emotion']}")
    return "\n".join(lines)
