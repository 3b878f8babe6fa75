"""Run an evaluation protocol and fit the model to ship: ``train(config, data=...)``.

Protocols (plain names in :mod:`ser_core.data.protocols`):

* ``random``: the study's stratified random 80/20 split (same speakers in train and
  test: it measures voice memorisation as much as emotion);
* ``kfold``: speaker-independent grouped k-fold by speaker, reported as mean ± std;
* ``holdout``: fixed held-out test speakers;
* ``loco``: leave one corpus out, for a manifest that gathers several corpora (its
  ``corpus`` column): each corpus in turn is tested by a model trained on all the others,
  on the labels it shares with them (:func:`ser_core.scoring.crosscorpus.score_shared`),
  reported per corpus and as the mean over corpora, always beside ``kfold`` over every clip;
* ``cross_corpus``: train on one corpus, test on another (``ProtocolSettings.test_data``) on
  the labels both share (:mod:`ser_core.scoring.crosscorpus`); the model scored is the shipped
  one, fitted on every training clip.

Every split comes from :func:`ser_core.data.splits.split` and the config's
:class:`~ser_core.data.splits.SplitSpec`. Before any fitting, the corpus and the protocols'
splits are checked for leakage (:mod:`ser_core.data.leakage`: duplicate audio across the
split, speakers on both sides, one speaker dominating a class); ``ProtocolSettings.leakage``
says whether a leak only warns (through ``progress``, and recorded with the model) or stops
the run.

When the clips to fit come from two or more corpora, models whose ``fit`` takes
``sample_weight`` get :func:`balance_weights`: each corpus counts the same, and each class
the same within its corpus (``FitSettings.balance``); the model card says what was used.
Validation data for early stopping always comes out of the training part of a fold
(:func:`ser_core.data.splits.validation_split`: whole training speakers, so under ``loco``
always from the training corpora), never from its test part, except in the study's
protocol "as written" (``stop_on="test"``, random split only), which is kept to reproduce
the study and is labelled optimistic. Augmented copies (``DataSettings.augment``,
:mod:`ser_core.audio.augment`) are added for the fitted clips only.
A model with a speaker-adapted head is also scored adapted to each test speaker
(``kfold_speaker_adapted``). The out-of-fold probabilities give the temperature that
calibrates the shipped model (:mod:`ser_core.scoring.temperature`).

Examples
--------
>>> config = TrainConfig(model="logistic_regression", protocol=ProtocolSettings("kfold"))
>>> result = train(config, data="../shared/data/ravdess-16k")  # doctest: +SKIP
>>> save_result(result, "artifacts/my-model")  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ser_core.data.dataset import Dataset, load_dataset
from ser_core.modelfolder.results import ModelMetrics, ProtocolResult
from ser_core.training.config import ProtocolSettings, TrainConfig

@dataclass
class TrainResult:
    """A fitted model (on all the data), its figures and the out-of-fold predictions behind them."""

    model: object
    config: TrainConfig
    metrics: ModelMetrics
    training: dict
    settings: object = None
    predictions: dict = field(default_factory=dict)
    """Per protocol: ``paths`` (relative to the corpus root), ``labels``, ``fold``, ``probabilities``, ``label_order``
    of every test clip."""
    calibration: dict = field(default_factory=dict)
    """Temperatures for the shipped model (``temperature``, ``temperature_adapted``) and where they came from."""
    corpus_root: str = ""
    """The folder the predictions' paths are relative to; kept in memory only (a saved folder names no server path)."""

    @property
    def history(self):
        """The shipped model's training curves (per epoch), if it has any."""
        return getattr(self.model, "history_", {})


def balance_weights(labels, corpora) -> np.ndarray:
    """Sample weights so each corpus counts the same and, within it, each class counts the same.

    A clip of class ``y`` in corpus ``c`` weighs ``1 / (corpora * classes of c * clips of y in c)``,
    scaled so the weights average 1: a corpus of 2,800 clips weighs as much as one of 480,
    and a corpus's 80 neutral clips as much as its 160 angry ones.

    Examples
    --------
    >>> balance_weights(["a", "a", "b", "a"], ["x", "x", "x", "y"]).round(2).tolist()
    [0.5, 0.5, 1.0, 2.0]
    """
    labels = np.asarray(labels).astype(str)
    corpora = np.asarray(corpora).astype(str)
    weights = np.zeros(len(labels))
    names = sorted(set(corpora.tolist()))
    for corpus in names:
        inside = corpora == corpus
        classes = sorted(set(labels[inside].tolist()))
        for label in classes:
            rows = inside & (labels == label)
            weights[rows] = 1.0 / (len(names) * len(classes) * rows.sum())
    return weights * len(labels) / weights.sum()


def _speaker_keys(dataset):
    from ser_core.data.splits import speaker_keys

    return speaker_keys(dataset.speakers, dataset.corpora)


def _fit_and_validation_parts(config, dataset, train_idx, test_idx, *, speaker_independent):
    """Indices to fit on and to early-stop on (empty for models that do not early-stop)."""
    from ser_core.data.splits import validation_split
    from ser_core.models.registry import model_family

    empty = np.array([], dtype=int)
    if model_family(config.model) != "keras":
        return train_idx, empty
    if config.fit.stop_on == "test":
        return train_idx, test_idx
    y, speakers = dataset.labels, _speaker_keys(dataset)
    speaker_independent = speaker_independent and len(np.unique(speakers[train_idx])) >= 2
    fit_idx, val_idx = validation_split(
        train_idx, labels=y, speakers=speakers, fraction=config.fit.validation_fraction, seed=config.seed,
        speaker_independent=speaker_independent,
    )
    if len(np.unique(y[fit_idx])) < len(np.unique(y[train_idx])):
        return train_idx, empty  # too little data to spare a validation part
    return fit_idx, val_idx


def _takes(estimator, argument: str) -> bool:
    """True when the estimator's ``fit`` takes ``argument``."""
    return argument in inspect.signature(estimator.fit).parameters


def _sample_weights(config, estimator, dataset, fit_idx):
    """:func:`balance_weights` of the fitted clips, or None (one corpus, balance off, or a fit without weights)."""
    if not config.fit.balance or len(set(dataset.corpora[fit_idx].tolist())) < 2 or not _takes(estimator,
                                                                                                "sample_weight"):
        return None
    return balance_weights(dataset.labels[fit_idx], dataset.corpora[fit_idx])


def _fit(config, dataset, train_idx, *, test_idx=None, speaker_independent, progress, should_stop):
    """Fit a fresh estimator on ``train_idx`` (minus its validation part); return it and the facts."""
    estimator = config.make_estimator()
    X, y = dataset.X, dataset.labels
    test_idx = np.array([], dtype=int) if test_idx is None else test_idx
    fit_idx, val_idx = _fit_and_validation_parts(config, dataset, train_idx, test_idx,
                                                 speaker_independent=speaker_independent)
    weights = _sample_weights(config, estimator, dataset, fit_idx)
    X_fit, y_fit, extra = _with_augmented_copies(estimator, dataset, config.data.augment, fit_idx, weights)
    if _takes(estimator, "speakers"):
        extra["speakers"] = _speaker_keys(dataset)[fit_idx]
    start = time.perf_counter()
    estimator.fit(
        X_fit, y_fit,
        X_val=X[val_idx] if len(val_idx) else None, y_val=y[val_idx] if len(val_idx) else None,
        progress=progress, should_stop=should_stop, **extra,
    )
    facts = {
        "n_fit_clips": int(len(fit_idx)),
        "n_augmented_clips": int(len(fit_idx) * len(config.data.augment)),
        "n_validation_clips": int(len(val_idx)),
        "balanced_by_weights": weights is not None,
        "training_time_s": round(time.perf_counter() - start, 3),
        "epochs_run": len(getattr(estimator, "history_", {}).get("loss", [])),
    }
    return estimator, facts


def _with_augmented_copies(estimator, dataset, augment, fit_idx, weights=None):
    """Return (X_fit, y_fit, extra fit kwargs) with the fitted clips' augmented copies (and sample weights) added.

    A model whose ``fit`` takes ``X_augmented`` (``adaptive_linear``) gets the copies
    apart (they train its single-clip head only, each with its clip's weight); any other
    model gets them as more rows, with their clip's weight repeated.
    """
    X, y = dataset.X[fit_idx], dataset.labels[fit_idx]
    extra = {} if weights is None else {"sample_weight": weights}
    if not augment:
        return X, y, extra
    copies = np.concatenate([dataset.augmented[key][fit_idx] for key in augment])
    copy_labels = np.concatenate([y] * len(augment))
    if _takes(estimator, "X_augmented"):
        return X, y, {**extra, "X_augmented": copies, "y_augmented": copy_labels}
    if weights is not None:
        extra["sample_weight"] = np.tile(weights, len(augment) + 1)
    return np.concatenate([X, copies]), np.concatenate([y, copy_labels]), extra


def _tagged(progress, **tags):
    """Wrap a progress callback so every record also carries ``tags`` (fold numbers)."""
    if progress is None:
        return None
    return lambda record: progress({**tags, **record})


def _probabilities_in_order(probabilities, classes, labels):
    """Test-clip probabilities with one column per label of ``labels`` (0 for classes the fold lacked)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    out = np.zeros((len(probabilities), len(labels)))
    columns = {str(label): i for i, label in enumerate(classes)}
    for j, label in enumerate(labels):
        if label in columns:
            out[:, j] = probabilities[:, columns[label]]
    return out


class _Collected:
    """Fold results and out-of-fold probabilities of one protocol (or its speaker-adapted twin)."""

    def __init__(self):
        self.folds, self.index, self.fold_ids, self.probabilities = [], [], [], []

    def add(self, number, test_idx, probabilities, fold_metrics):
        self.folds.append(fold_metrics)
        self.index.append(test_idx)
        self.fold_ids.append(np.full(len(test_idx), number))
        self.probabilities.append(probabilities)

    def result(self, name, *, dataset, labels, settings, histories=(), time_s=None, calibrate=True):
        """The :class:`ProtocolResult` and its predictions dict (no temperature report when ``calibrate`` is False)."""
        from ser_core.scoring.metrics import evaluate_predictions, summarize_folds
        from ser_core.scoring.temperature import calibration_report

        index = np.concatenate(self.index)
        probabilities = np.concatenate(self.probabilities)
        y_true = dataset.labels[index]
        predictions = {"paths": [dataset.relative(dataset.paths[i]) for i in index], "labels": y_true,
                       "fold": np.concatenate(self.fold_ids), "probabilities": probabilities.astype(np.float32),
                       "label_order": list(labels)}
        pooled = evaluate_predictions(y_true, np.asarray(labels)[probabilities.argmax(axis=1)], labels=labels)
        position = {label: i for i, label in enumerate(labels)}
        calibration = None
        if calibrate and set(y_true.tolist()) <= set(position):
            codes = np.array([position[label] for label in y_true])
            calibration = calibration_report(probabilities, codes, predictions["fold"])
        result = ProtocolResult(protocol=name, folds=self.folds, summary=summarize_folds(self.folds),
                                pooled=pooled, settings=settings, calibration=calibration,
                                histories=list(histories), time_s=time_s)
        return result, predictions


def _score_fold(estimator, dataset, test_idx, labels):
    """Single-clip and (when the model has a speaker-adapted head, else None) speaker-adapted test probabilities."""
    X = dataset.X
    single = _probabilities_in_order(estimator.predict_proba(X[test_idx]), estimator.classes_, labels)
    adapted = None
    if getattr(estimator, "adapted_", None) is not None:
        adapted = _probabilities_in_order(estimator.predict_proba(X[test_idx], speakers=_speaker_keys(dataset)[test_idx]),
                                          estimator.classes_, labels)
    return single, adapted


def _add_fold(collected, number, estimator, dataset, test_idx, labels, facts):
    """Score a within-corpus fold: the single-clip result, and the speaker-adapted one when the model has it."""
    from ser_core.scoring.metrics import evaluate_predictions

    single, adapted = _score_fold(estimator, dataset, test_idx, labels)
    y_test = dataset.labels[test_idx]
    for probabilities, target in ((single, collected[0]), (adapted, collected[1])):
        if probabilities is not None and target is not None:
            fold = evaluate_predictions(y_test, np.asarray(labels)[probabilities.argmax(axis=1)], labels=labels)
            target.add(number, test_idx, probabilities, {**fold, **facts})


def _add_corpus_fold(collected, number, estimator, dataset, test_idx, labels, facts):
    """Score a corpus left out on the labels it shares with the model (the model's choice restricted to them).

    Its clips of labels the model never saw are left out and counted; the probabilities kept
    are the restricted ones, in ``labels`` columns (0 for labels not shared).
    """
    from ser_core.scoring.crosscorpus import score_shared

    model_labels = [str(label) for label in estimator.classes_]
    score = score_shared(estimator.predict_proba(dataset.X[test_idx]), model_labels=model_labels,
                         y_true=dataset.labels[test_idx])
    kept = test_idx[score.kept]
    shared = score.metrics["shared_labels"]
    probabilities = _probabilities_in_order(score.probabilities, shared, labels)
    facts = {**facts, "test_corpus": str(dataset.corpora[test_idx][0]), "n_test_clips": int(len(kept))}
    collected[0].add(number, kept, probabilities, {**score.metrics, **facts})


def run_protocol(config, dataset, *, protocol=None, progress=None, should_stop=None):
    """Train and test once per fold of a protocol; return ``{name: (ProtocolResult, predictions)}``.

    ``protocol`` defaults to the config's. A model with a speaker-adapted head also gives
    ``<protocol>_speaker_adapted`` (only for speaker-independent protocols within the
    corpora). Under ``loco`` each fold is one corpus left out, scored on its shared labels.
    """
    from ser_core.data.splits import split

    protocol = protocol or config.protocol.name
    name = config.protocol_name(protocol)
    splits = split(config.split_spec(protocol), labels=dataset.labels, speakers=dataset.speakers,
                   corpora=dataset.corpora)
    labels = dataset.label_order
    collected = (_Collected(), _Collected() if protocol in ("kfold", "holdout") else None)
    add = _add_corpus_fold if protocol == "loco" else _add_fold
    histories, start = [], time.perf_counter()
    for number, (train_idx, test_idx) in enumerate(splits, start=1):
        estimator, facts = _fit(
            config, dataset, train_idx, test_idx=test_idx, speaker_independent=protocol != "random",
            progress=_tagged(progress, protocol=name, fold=number, n_folds=len(splits)), should_stop=should_stop,
        )
        facts.update(fold=number, n_train_clips=int(len(train_idx)), n_test_clips=int(len(test_idx)),
                     test_speakers=sorted(set(dataset.speakers[test_idx].tolist())),
                     train_accuracy=float(np.mean(estimator.predict(dataset.X[train_idx]) == dataset.labels[train_idx])))
        add(collected, number, estimator, dataset, test_idx, labels, facts)
        histories.append(getattr(estimator, "history_", {}))
        if progress is not None:
            progress({"protocol": name, "fold": number, "n_folds": len(splits), "stage": "fold done",
                      "test_accuracy": collected[0].folds[-1]["accuracy"], "test_uar": collected[0].folds[-1]["uar"]})
    settings = _protocol_settings(config, protocol, n_splits=len(splits), dataset=dataset)
    elapsed = round(time.perf_counter() - start, 1)
    single, adapted = collected
    results = {name: single.result(name, dataset=dataset, labels=labels, settings=settings, histories=histories,
                                   time_s=elapsed, calibrate=protocol != "loco")}
    if adapted is not None and adapted.folds:
        results[f"{name}_speaker_adapted"] = adapted.result(f"{name}_speaker_adapted", dataset=dataset, labels=labels,
                                                            settings=settings, time_s=elapsed)
    return results


def _protocol_settings(config, protocol, *, n_splits, dataset) -> dict:
    """What identifies a protocol's result: folds, held-out speakers, split size, corpora left out, seed."""
    spec = config.split_spec(protocol)
    settings = {"n_folds": n_splits if protocol == "kfold" else None, "seed": config.seed,
                "test_speakers": list(spec.test_speakers) if protocol == "holdout" else None,
                "test_size": spec.test_size if protocol == "random" else None, "stop_on": config.fit.stop_on}
    if protocol == "loco":
        settings["corpora"] = dataset.corpus_names
    return settings


def fit_final(config, dataset, *, progress=None, should_stop=None):
    """Fit the model to ship on all clips (minus validation speakers for early stopping)."""
    return _fit(
        config, dataset, np.arange(len(dataset.labels)), speaker_independent=True,
        progress=_tagged(progress, protocol="final", fold="final", n_folds=1), should_stop=should_stop,
    )


def cross_corpus_result(config, model, dataset, test_set, *, time_s=None):
    """Score the fitted ``model`` on another corpus's clips, on the labels both share.

    Returns ``{"cross_corpus": (ProtocolResult, predictions)}``. The result's settings
    state the test corpus, the shared labels and the clips left out; no calibration
    temperature is fitted on it (that would fit the other corpus's label shift).
    """
    from ser_core.scoring.crosscorpus import score_shared
    from ser_core.scoring.metrics import summarize_folds

    start = time.perf_counter()
    model_labels = [str(label) for label in model.classes_]
    score = score_shared(model.predict_proba(test_set.X), model_labels=model_labels, y_true=test_set.labels)
    kept = np.flatnonzero(score.kept)
    fold = {**score.metrics, "fold": 1, "n_train_clips": int(len(dataset.labels)), "n_test_clips": int(len(kept)),
            "test_speakers": sorted(set(test_set.speakers[kept].tolist())),
            "train_accuracy": float(np.mean(model.predict(dataset.X) == dataset.labels))}
    settings = {key: score.metrics[key] for key in ("shared_labels", "left_out", "n_left_out", "model_only_labels")}
    settings.update(corpus=test_set.title, data=test_set.source_name, seed=config.seed)
    result = ProtocolResult(protocol="cross_corpus", folds=[fold], summary=summarize_folds([fold]), pooled=score.metrics,
                            settings=settings, time_s=round(time_s or (time.perf_counter() - start), 1))
    predictions = {"paths": [test_set.relative(test_set.paths[i]) for i in kept], "labels": test_set.labels[kept],
                   "fold": np.ones(len(kept), dtype=int), "probabilities": score.probabilities.astype(np.float32),
                   "label_order": list(score.metrics["shared_labels"])}
    return {"cross_corpus": (result, predictions)}


def _calibration_for_shipping(results):
    """Temperatures for the shipped model, from the most honest protocol's out-of-fold predictions."""
    from ser_core.data.protocols import protocol_rank

    calibration = {}
    for name, (result, _) in sorted(results.items(), key=lambda item: protocol_rank(item[1][0].protocol)):
        if result.calibration is None:
            continue
        key = "temperature_adapted" if name.endswith("_speaker_adapted") else "temperature"
        if key not in calibration:
            calibration[key] = result.calibration["temperature"]
            calibration[f"{key}_fitted_on"] = f"out-of-fold test predictions of '{result.title}'"
    return calibration


def train(config, *, data, test_data=None, progress=None, should_stop=None):
    """Evaluate ``config`` under its protocol(s), then fit the shipping model on all the data.

    Parameters
    ----------
    config : TrainConfig
    data : path, CorpusIndex or Dataset
        The corpus (folder, zip or manifest), an index of it, or already extracted features.
    test_data : path, CorpusIndex or Dataset, optional
        The other corpus of the ``cross_corpus`` protocol (default: ``config.protocol.test_data``).
    progress : callable, optional
        ``progress(dict)`` per epoch with epoch, loss, accuracy, val_loss,
        val_accuracy, lr, plus protocol, fold and n_folds; and once per fold with
        ``stage: "fold done"`` and the fold's test accuracy and UAR.
    should_stop : callable, optional
        Polled during training; returning true raises TrainingCancelled.

    Returns
    -------
    TrainResult

    Raises
    ------
    ser_core.data.leakage.LeakageError
        With ``config.protocol.leakage == "stop"``, when the check before training finds a leak.
    """
    from ser_core.data.leakage import check_training_leakage

    start = time.perf_counter()
    dataset = load_dataset(data, feature_kind=config.data.features, settings=config.preprocess_settings(),
                           augment=config.data.augment, label_map=config.data.label_map)
    protocols = config.protocol.names
    test_set = None
    if "cross_corpus" in protocols:
        test_set = load_dataset(config.protocol.test_data if test_data is None else test_data,
                                feature_kind=config.data.features, settings=config.preprocess_settings(),
                                label_map=config.data.label_map)
    within = [protocol for protocol in protocols if protocol != "cross_corpus"]
    leakage = check_training_leakage(dataset, specs=[config.split_spec(protocol) for protocol in within],
                                     mode=config.protocol.leakage, test_set=test_set, progress=progress)
    results = {}
    for protocol in within:
        results.update(run_protocol(config, dataset, protocol=protocol, progress=progress, should_stop=should_stop))
    model, facts = fit_final(config, dataset, progress=progress, should_stop=should_stop)
    if test_set is not None:
        results.update(cross_corpus_result(config, model, dataset, test_set))
    training = {**_training_facts(config, dataset, model), "leakage": leakage,
                "total_time_s": round(time.perf_counter() - start, 1), **facts}
    metrics = ModelMetrics(protocols={name: result for name, (result, _) in results.items()},
                           training_time_s=facts["training_time_s"])
    return TrainResult(model=model, config=config, metrics=metrics, training=training, settings=dataset.settings,
                       predictions={name: predictions for name, (_, predictions) in results.items()},
                       calibration=_calibration_for_shipping(results), corpus_root=dataset.root)


def _training_facts(config, dataset, model) -> dict:
    """What a model folder records about its training data (by name: never a server path)."""
    from collections import Counter

    corpora = Counter(dataset.corpora.tolist())
    facts = {
        "data": dataset.source_name,
        "corpus": dataset.title or dataset.layout,
        "layout": dataset.layout,
        "corpora": {name: corpora[name] for name in sorted(corpora)},
        "n_clips": int(len(dataset.labels)),
        "n_speakers": int(len(np.unique(_speaker_keys(dataset)))),
        "skipped_clips": [{**skipped, "path": dataset.relative(skipped["path"])} for skipped in dataset.skipped],
    }
    if len(corpora) >= 2:
        facts["balance"] = _balance_note(config, model, n_corpora=len(corpora))
    return facts


def _balance_note(config, model, *, n_corpora: int) -> str:
    """How the corpora and classes were balanced in training, in words (for the card)."""
    if not config.fit.balance:
        return "none (turned off): corpora and classes count by their clips"
    if not _takes(model, "sample_weight"):
        return f"none: {config.model} takes no sample weights, so corpora and classes count by their clips"
    return (f"sample weights: each of the {n_corpora} corpora counts the same, and each class the same within its "
            "corpus (in every fit whose clips span two or more corpora)")


def save_result(result, folder, *, description="", latency=True):
    """Save a TrainResult as a complete model folder (:func:`ser_core.modelfolder.save.save_artifact`); return its path.

    The one road to a model folder: weights, config (with the calibration temperature),
    out-of-fold predictions (``predictions.npz``), metrics with the measured latency, and
    the model card are written together and swapped into place atomically.
    """
    from ser_core.modelfolder.save import save_artifact

    return save_artifact(
        Path(folder), result.model, model_name=result.config.model, feature_kind=result.config.data.features,
        preprocess=result.settings, seed=result.config.seed, metrics=result.metrics,
        training={**result.training, "config": result.config.to_dict()}, predictions=result.predictions,
        calibration=result.calibration, description=description, latency=latency, corpus_root=result.corpus_root,
    )


__all__ = ["Dataset", "ProtocolSettings", "TrainConfig", "TrainResult", "balance_weights", "cross_corpus_result", "fit_final",
           "load_dataset", "run_protocol", "save_result", "train"]
