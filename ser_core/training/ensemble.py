"""An ensemble's figures from its members' out-of-fold predictions, with no retraining.

The recipe, fixed before any figure was seen: each member's probabilities are
temperature-scaled (:mod:`ser_core.scoring.temperature`), averaged with fixed weights, and the
average is temperature-scaled once more. For the reported figures every temperature of a
fold is fitted on the other folds only (cross-fitted), so no test label chooses anything;
the shipped ensemble uses temperatures fitted on all the out-of-fold predictions.

Examples
--------
>>> result, predictions, calibration = combine_protocol(  # doctest: +SKIP
...     [(lr_predictions["kfold"], 1.0), (cnn_predictions["kfold"], 1.0)], protocol="kfold", settings={"n_folds": 5})
"""

from __future__ import annotations

import numpy as np

from ser_core.errors import InputError
from ser_core.modelfolder.results import ProtocolResult
from ser_core.scoring.temperature import apply_temperature, calibration_report, cross_fitted, fit_temperature


def _aligned(members):
    """Members' predictions on the clips they all have, in the first member's order."""
    first = members[0][0]
    common = set(first["paths"])
    for predictions, _ in members[1:]:
        common &= set(predictions["paths"])
    if not common:
        raise InputError("the ensemble's members share no test clips; were they evaluated on the same corpus?")
    paths = [path for path in first["paths"] if path in common]
    labels = list(first["label_order"])
    out, admitted = [], []
    for predictions, weight in members:
        if list(predictions["label_order"]) != labels:
            raise InputError(f"members disagree on labels: {labels} vs {list(predictions['label_order'])}")
        position = {path: i for i, path in enumerate(predictions["paths"])}
        rows = [position[path] for path in paths]
        out.append((np.asarray(predictions["probabilities"], dtype=np.float64)[rows],
                    np.asarray(predictions["fold"])[rows], weight))
        admitted.append(np.asarray(predictions.get("admitted", np.ones(len(position), dtype=bool)), dtype=bool)[rows])
    truth = np.asarray(first["labels"])[[list(first["paths"]).index(path) for path in paths]]
    return paths, truth, labels, out, _clip_weights([weight for *_, weight in out], np.array(admitted))


def _clip_weights(weights, admitted) -> np.ndarray:
    """``(members, clips)`` averaging weights: a member's weight where it admits the clip, normalised per clip.

    A clip no member admits is averaged by all (as :class:`~ser_core.modelfolder.loaded.EnsembleModel` serves it).
    """
    admitted = admitted.copy()
    admitted[:, ~admitted.any(axis=0)] = True
    weights = np.asarray(weights, dtype=np.float64)[:, None] * admitted
    return weights / weights.sum(axis=0)


def _folds_agree(aligned):
    folds = aligned[0][1]
    for _, other, _ in aligned[1:]:
        if not np.array_equal(folds, other):
            raise InputError("the members were evaluated on different folds; an ensemble needs the same folds")
    return folds


def combine_protocol(members, *, protocol: str, settings: dict):
    """Cross-fitted ensemble figures of one protocol.

    Parameters
    ----------
    members : list of (predictions, weight)
        Each member's out-of-fold predictions of the protocol (``paths``, ``labels``,
        ``fold``, ``probabilities``, ``label_order``), evaluated on the same folds; an
        optional ``admitted`` (one boolean per clip) leaves a gated member out of the
        clips outside its domain.
    protocol : str
        Name to file the result under (e.g. ``kfold`` or ``kfold_speaker_adapted``).
    settings : dict
        The protocol's settings (``n_folds``, ``seed``, ...).

    Returns
    -------
    (ProtocolResult, predictions, temperatures)
        ``temperatures`` are the shipped ensemble's: one per member and one for the average,
        fitted on all the out-of-fold predictions.
    """
    from ser_core.scoring.metrics import evaluate_predictions, summarize_folds

    paths, truth, labels, aligned, weights = _aligned(members)
    folds = _folds_agree(aligned)
    position = {label: i for i, label in enumerate(labels)}
    codes = np.array([position[label] for label in truth])
    calibrated = [cross_fitted(probabilities, codes, folds)[0] for probabilities, _, _ in aligned]
    average = np.einsum("mc,mcl->cl", weights, np.stack(calibrated))
    final, _ = cross_fitted(average, codes, folds)
    fold_results = []
    for fold in np.unique(folds):
        rows = folds == fold
        predicted = np.asarray(labels)[final[rows].argmax(axis=1)]
        fold_results.append({**evaluate_predictions(truth[rows], predicted, labels=labels), "fold": int(fold)})
    pooled = evaluate_predictions(truth, np.asarray(labels)[final.argmax(axis=1)], labels=labels)
    report = calibration_report(average, codes, folds)
    report["note"] = "members temperature-scaled (cross-fitted), averaged, then scaled again"
    result = ProtocolResult(protocol=protocol, folds=fold_results, summary=summarize_folds(fold_results),
                            pooled=pooled, settings=settings, calibration=report)
    member_temperatures = [fit_temperature(probabilities, codes) for probabilities, _, _ in aligned]
    shipped_average = np.einsum("mc,mcl->cl", weights, np.stack([apply_temperature(p, t) for (p, _, _), t
                                                                 in zip(aligned, member_temperatures)]))
    predictions = {"paths": paths, "labels": truth, "fold": folds, "probabilities": final.astype(np.float32),
                   "label_order": labels}
    return result, predictions, {"members": member_temperatures, "ensemble": fit_temperature(shipped_average, codes)}
