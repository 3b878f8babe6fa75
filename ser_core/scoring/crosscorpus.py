"""Scoring a model on another corpus: only the labels both sides share are compared.

A model names only the labels it was trained on, and another corpus seldom has the same
set: EmoDB has "boredom", which a RAVDESS model cannot name, and lacks RAVDESS's "calm"
and "surprised". Scoring every clip against every label would count the clips the model
cannot name as errors and show empty rows for the labels the corpus lacks. So, after any
label map (:func:`ser_core.data.layouts.read_label_map`):

* clips whose label the model does not know are **left out**, and counted per label;
* the model's choice is **restricted to the shared labels**: its probabilities over the
  shared labels are renormalised to sum to one and the highest wins. Unrestricted, a
  shared-label clip given a label the corpus lacks ("calm" for an EmoDB clip) would be
  an error that measures the difference between the label sets rather than recognition;
  that stricter figure is reported beside it as ``unrestricted_accuracy``, with
  ``n_outside``, the clips the unrestricted model gave a label outside the shared set.

Accuracy, UAR, macro F1 and the confusion matrix are over the shared labels only.
:func:`evaluate_model` scores a loaded model on a whole corpus this way; on the corpus
it was trained on, with every label present, that is the plain evaluation.

Examples
--------
>>> import numpy as np
>>> probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.2, 0.2, 0.6]])
>>> score = score_shared(probabilities, model_labels=["calm", "sad", "angry"], y_true=["sad", "angry", "boredom"])
>>> score.metrics["shared_labels"], score.metrics["left_out"], score.metrics["accuracy"]
(['sad', 'angry'], {'boredom': 1}, 1.0)
>>> score.metrics["unrestricted_accuracy"]  # free to answer "calm", the first clip is wrong
0.5
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ser_core.data.labels import label_order
from ser_core.errors import InputError
from ser_core.scoring.metrics import evaluate_predictions


def shared_labels(model_labels, corpus_labels) -> list[str]:
    """The labels a model and a corpus both have, in display order."""
    corpus = {str(label) for label in corpus_labels}
    return [label for label in label_order(model_labels) if label in corpus]


@dataclass
class SharedScore:
    """The result of :func:`score_shared`."""

    metrics: dict
    """:func:`ser_core.scoring.metrics.evaluate_predictions` over the shared labels, plus ``shared_labels``,
    ``left_out`` ({label: clips}), ``n_left_out``, ``model_only_labels``, ``unrestricted_accuracy``
    and ``n_outside``."""
    probabilities: np.ndarray
    """Renormalised probabilities of the scored clips, one column per shared label."""
    kept: np.ndarray
    """Boolean mask of the clips scored (their label is shared)."""


def score_shared(probabilities, *, model_labels, y_true) -> SharedScore:
    """Score a model's probabilities on clips whose labels may differ from the model's.

    Parameters
    ----------
    probabilities : array (clips, labels)
        The model's probabilities, columns in ``model_labels`` order.
    model_labels : sequence of str
        The labels the model can name.
    y_true : sequence of str
        Each clip's true label (after any label map).

    Raises
    ------
    InputError
        Fewer than two labels are shared (say which labels each side has, and that a
        label map can rename them).
    """
    model_labels = [str(label) for label in model_labels]
    y_true = np.asarray(y_true).astype(str)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (len(y_true), len(model_labels)):
        raise InputError(f"probabilities have shape {probabilities.shape}; expected ({len(y_true)}, "
                         f"{len(model_labels)}) for {len(y_true)} clips and the model's labels")
    shared = shared_labels(model_labels, y_true)
    if len(shared) < 2:
        raise InputError(
            f"the model's labels ({', '.join(label_order(model_labels))}) and the corpus's "
            f"({', '.join(label_order(y_true))}) share {len(shared)} label(s) ({', '.join(shared) or 'none'}); "
            "comparing needs at least two: rename the corpus's labels with a label map (--labels-map)"
        )
    kept = np.isin(y_true, shared)
    columns = [model_labels.index(label) for label in shared]
    restricted = probabilities[kept][:, columns]
    restricted = restricted / np.maximum(restricted.sum(axis=1, keepdims=True), 1e-12)
    truth = y_true[kept]
    metrics = evaluate_predictions(truth, np.asarray(shared)[restricted.argmax(axis=1)], labels=shared)
    free_choice = np.asarray(model_labels)[probabilities[kept].argmax(axis=1)]
    left_out = Counter(y_true[~kept].tolist())
    metrics.update(
        shared_labels=shared,
        left_out={label: left_out[label] for label in label_order(left_out)},
        n_left_out=int((~kept).sum()),
        model_only_labels=[label for label in label_order(model_labels) if label not in shared],
        unrestricted_accuracy=float(np.mean(free_choice == truth)),
        n_outside=int(np.sum(~np.isin(free_choice, shared))),
    )
    return SharedScore(metrics=metrics, probabilities=restricted, kept=kept)


def describe(metrics: dict) -> str:
    """One or two sentences stating the shared labels and what was left out."""
    text = f"compared on {len(metrics['shared_labels'])} shared labels ({', '.join(metrics['shared_labels'])})"
    if metrics.get("n_left_out"):
        parts = ", ".join(f"{label} {count}" for label, count in metrics["left_out"].items())
        text += f"; left out {metrics['n_left_out']} clips whose label the model does not know ({parts})"
    if metrics.get("model_only_labels"):
        text += (f"; the model's choice was restricted to the shared labels (not offered: "
                 f"{', '.join(metrics['model_only_labels'])}; free to name any of its labels it scores "
                 f"{100 * metrics['unrestricted_accuracy']:.2f}% accuracy)")
    return text


def evaluate_model(model, data, *, progress=None, label_map=None):
    """Evaluate a model of any kind on every clip of a corpus (folder, zip, manifest or CorpusIndex).

    ``model`` is anything with ``corpus_features``, ``predict_proba`` and ``labels``: a
    loaded model, an ensemble, or a model adapted to one speaker
    (:class:`ser_core.modelfolder.loaded.Predictor`). Features are extracted with the
    model's own preprocessing and feature settings (each member's, for an ensemble;
    through the cache). Only the labels the model and the corpus share are compared
    (:mod:`ser_core.scoring.crosscorpus`): clips of other labels are left out and counted, and
    the model's choice is restricted to the shared labels. On the corpus it was trained
    on, with every label present, that is the plain evaluation. ``label_map`` renames the
    corpus's labels first (when ``data`` is a path).

    Returns :func:`evaluate_predictions`' dict over the shared labels plus
    ``shared_labels``, ``left_out``, ``n_left_out``, ``model_only_labels``,
    ``unrestricted_accuracy``, ``n_outside``, ``model``, ``data`` and ``corpus``.

    Examples
    --------
    >>> metrics = evaluate_model(load_model("artifacts/compare-adaptive-lr"), "emodb/")  # doctest: +SKIP
    >>> metrics["shared_labels"], metrics["left_out"]  # doctest: +SKIP
    (['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgust'], {'boredom': 81})
    """
    dataset = model.corpus_features(data, progress=progress, label_map=label_map)
    probabilities = model.predict_proba(dataset.X)
    metrics = score_shared(probabilities, model_labels=model.labels, y_true=dataset.labels).metrics
    metrics.update(model=model.name, data=dataset.source or str(data), corpus=dataset.title)
    return metrics
