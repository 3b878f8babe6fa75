"""The one road that writes a model folder (the format is described in :mod:`ser_core.modelfolder.read`).

:func:`save_artifact` and :func:`save_ensemble` build the whole folder in a hidden staging
folder, load it back, time it, and only then swap it into place
(:func:`ser_core.atomic.replace_folder`), so a crash at any step leaves the old complete
model or the new one. :func:`update_metrics` rewrites a saved folder's figures and card.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ser_core import atomic
from ser_core.modelfolder.read import (CARD_FILE, CONFIG_FILE, FORMAT_VERSION, MEMBERS_FOLDER, METRICS_FILE,
                                       PREDICTIONS_FILE, file_sha256, load_ensemble_members, load_model, read_config)
from ser_core.errors import InputError, ModelError
from ser_core.modelfolder.results import ModelMetrics


def _versions(family):
    """Return the versions of the packages a model of this family depends on."""
    import importlib.metadata as metadata

    from ser_core import __version__

    extra = {"keras": ["tensorflow-cpu", "tensorflow", "keras"], "torch": ["torch"]}.get(family, ["joblib"])
    versions = {"python": platform.python_version(), "ser_core": __version__}
    for name in ["numpy", "scikit-learn", "librosa", *extra]:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _file_digests(folder: Path) -> dict:
    """SHA-256 of every file staged so far (weights, predictions, members/), by relative path."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digests[path.relative_to(folder).as_posix()] = file_sha256(path)
    return digests


def _as_metrics(metrics) -> ModelMetrics:
    if isinstance(metrics, ModelMetrics):
        return dataclasses.replace(metrics)
    return ModelMetrics.from_dict(metrics or {})


#: An absolute path, alone or inside a longer text such as a command line (``/srv/x``, ``~/x``, ``C:\\x``).
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/\\.~-])(?:~|[A-Za-z]:)?[/\\](?:[^\s'\"/\\]+[/\\])*[^\s'\"/\\]+")


def _portable(value):
    """``value`` (JSON-like) with every absolute path cut to its last part: a model folder names no server path.

    Clip paths are already relative to the corpus root and the corpus is named, not located
    (:func:`ser_core.training.train.train`); this catches the rest (a command line, a test
    corpus, an older member's facts), so nothing a visitor downloads holds a path of the server.
    """
    if isinstance(value, dict):
        return {key: _portable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_portable(item) for item in value]
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return _ABSOLUTE_PATH.sub(lambda match: re.split(r"[/\\]", match.group(0))[-1], value)
    return value


def _predictions_arrays(predictions) -> dict:
    """Flatten ``{protocol: {key: values}}`` into npz arrays named ``<protocol>/<key>`` (paths made portable)."""
    arrays = {}
    for protocol, block in (predictions or {}).items():
        for key, values in block.items():
            if key == "paths":
                values = _portable([str(path) for path in values])
            arrays[f"{protocol}/{key}"] = np.asarray(values, dtype=np.float32 if key == "probabilities" else None)
    return arrays


def _portable_metrics(metrics: ModelMetrics) -> ModelMetrics:
    """The figures with each protocol's settings made portable (a cross-corpus test names its corpus)."""
    metrics.protocols = {name: dataclasses.replace(result, settings=_portable(result.settings))
                         for name, result in metrics.protocols.items()}
    return metrics


def _finish(staging: Path, folder: Path, config: dict, metrics: ModelMetrics, *, latency: bool) -> Path:
    """Write config, load the staged folder back, time it, write metrics and card, swap into place."""
    from ser_core.modelfolder.card import model_card
    from ser_core.modelfolder.reliability import folder_reliability

    metrics = _portable_metrics(metrics)
    config["files"] = _file_digests(staging)
    atomic.write_json(staging / CONFIG_FILE, config, default=atomic.json_default)
    atomic.checkpoint("after-config")
    metrics.size_bytes = int(sum((staging / name).stat().st_size for name in config["files"]))
    atomic.write_json(staging / METRICS_FILE, metrics.to_dict(), default=atomic.json_default)
    if latency:
        from ser_core.scoring.latency import latency_per_clip_ms

        metrics.latency_ms_per_3s_clip = round(latency_per_clip_ms(load_model(staging, trust=True), repeats=5), 2)
        atomic.write_json(staging / METRICS_FILE, metrics.to_dict(), default=atomic.json_default)
    atomic.write_text(staging / CARD_FILE, model_card(config, metrics,
                                                  reliability=folder_reliability(staging, metrics=metrics)))
    atomic.checkpoint("after-metrics")
    atomic.replace_folder(staging, folder)
    return folder


def _base_config(folder, *, model_name, family, description, labels, preprocess, seed, training, calibration):
    return {
        "format_version": FORMAT_VERSION,
        "name": folder.name,
        "model": model_name,
        "family": family,
        "description": description,
        "labels": labels,
        "preprocess": preprocess.to_dict(),
        "seed": seed,
        "training": _portable(training or {}),
        "calibration": calibration or {},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(family),
    }


def save_artifact(folder, estimator, *, model_name, feature_kind, preprocess=None, labels=None, seed=42,
                  metrics=None, training=None, predictions=None, calibration=None, description="", latency=True,
                  corpus_root=None):
    """Write a complete model folder, atomically, and return its path.

    Parameters
    ----------
    folder : path
        Destination; an existing model folder there is replaced in one step.
    estimator : fitted model from :mod:`ser_core.models`
    model_name, feature_kind : str
        Registry name (``logmel_cnn``, ``adaptive_linear``, ...) and the feature kind it was trained on.
    preprocess : PreprocessSettings, optional
        Preprocessing of the training clips (default: this release's defaults).
    labels : sequence of str, optional
        Class order (default ``estimator.classes_``).
    metrics : ModelMetrics or dict, optional
        The figures; size, parameter count and (``latency=True``) latency are added.
    training : dict, optional
        Data and training facts (corpus, n_clips, time, epochs, command, ...).
    predictions : dict, optional
        Out-of-fold test predictions per protocol (``ser_core.training.train.TrainResult.predictions``).
    calibration : dict, optional
        ``temperature`` (and ``temperature_adapted``) applied to the probabilities, with where it was fitted.
    latency : bool
        Time the saved model on a 3-s clip (decoding and features included).
    corpus_root : path, optional
        The folder the ``predictions`` paths are relative to (default: ``training["data"]``),
        for the export check; never written: the folder names no absolute path (:func:`_portable`).

    A network (and the MLP) is also written as ``model.onnx``, checked against the native
    model on up to 16 ``predictions`` clips (:mod:`ser_core.modelfolder.export`).
    """
    from ser_core.audio.preprocess import PreprocessSettings
    from ser_core.features import parse_kind
    from ser_core.models.registry import DESCRIPTIONS, model_family

    folder = Path(folder)
    preprocess = preprocess or PreprocessSettings()
    spec = parse_kind(feature_kind)
    family = model_family(model_name)
    labels = _fitted_labels(estimator, labels)
    metrics = _as_metrics(metrics)
    metrics.n_parameters = int(getattr(estimator, "n_parameters_", 0))
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = atomic.staging_folder(folder)
    try:
        export = _write_weights(staging, estimator, spec=spec, preprocess=preprocess, predictions=predictions,
                                corpus_root=corpus_root or (training or {}).get("data"))
        config = _base_config(folder, model_name=model_name, family=family,
                              description=description or DESCRIPTIONS.get(model_name, ""), labels=labels,
                              preprocess=preprocess, seed=seed, training=training, calibration=calibration)
        config["model_settings"] = _plain_params(estimator)
        config["features"] = {"kind": spec.name, "settings": spec.to_dict()}
        if export is not None:
            config["onnx"] = export
        return _finish(staging, folder, config, metrics, latency=latency)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_weights(staging, estimator, *, spec, preprocess, predictions, corpus_root):
    """The estimator's own files, its checked ONNX export (its record, or None) and the predictions file."""
    from ser_core.modelfolder.export import check_clips, export_checked

    estimator.save(staging)
    clips = check_clips(predictions, data=corpus_root)
    export = export_checked(estimator, staging, spec=spec, preprocess=preprocess, clips=clips)
    arrays = _predictions_arrays(predictions)
    if arrays:
        np.savez_compressed(staging / PREDICTIONS_FILE, **arrays)
    atomic.checkpoint("after-weights")
    return export


def _fitted_labels(estimator, labels) -> list[str]:
    """The class order to save: ``labels`` (checked against the estimator's) or the estimator's own."""
    if not hasattr(estimator, "classes_"):
        raise ModelError("only a fitted model can be saved; call fit first")
    labels = [str(label) for label in (labels if labels is not None else estimator.classes_)]
    if labels != [str(label) for label in estimator.classes_]:
        raise InputError(f"labels {labels} differ from the model's classes {list(estimator.classes_)}")
    return labels


def _plain_params(estimator) -> dict:
    """The estimator's constructor settings, JSON-ready."""
    return json.loads(json.dumps(estimator.get_params(deep=False), default=atomic.json_default))


def save_ensemble(folder, members, *, metrics=None, training=None, predictions=None, calibration=None,
                  description="", latency=True, domains=None):
    """Write an ensemble: member model folders copied under ``members/``, averaged with weights.

    ``members`` is a list of ``(member folder, weight)``; every member must predict the
    same labels. The ensemble averages its members' calibrated probabilities, then applies
    its own ``calibration`` temperature. ``domains``: ``{member name: DomainGate}`` for
    members that serve only recordings like their training clips (:mod:`ser_core.audio.quality`).
    """
    folder = Path(folder)
    loaded = load_ensemble_members([(Path(path), float(weight)) for path, weight in members], trust=True)
    unknown = set(domains or {}) - {model.name for model, _ in loaded}
    if unknown:
        raise InputError(f"domain gates name no member of the ensemble: {sorted(unknown)}")
    labels = loaded[0][0].labels
    first_training = loaded[0][0].config.get("training") or {}
    training = {**{key: first_training.get(key) for key in ("data", "corpus", "n_clips", "n_speakers")}, **(training or {})}
    metrics = _as_metrics(metrics)
    metrics.n_parameters = int(sum(m.metrics.n_parameters or 0 for m, _ in loaded))
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = atomic.staging_folder(folder)
    try:
        entries = []
        for model, weight in loaded:
            shutil.copytree(model.path, staging / MEMBERS_FOLDER / model.name)
            entries.append({"name": model.name, "weight": weight, "model": model.config["model"],
                            "features": model.spec.name, "preprocess": model.settings.to_dict(),
                            "description": model.config.get("description", "")})
            if model.name in (domains or {}):
                entries[-1]["domain"] = domains[model.name].to_dict()
        arrays = _predictions_arrays(predictions)
        if arrays:
            np.savez_compressed(staging / PREDICTIONS_FILE, **arrays)
        atomic.checkpoint("after-weights")
        config = _base_config(folder, model_name="ensemble", family="ensemble", description=description,
                              labels=labels, preprocess=loaded[0][0].settings, seed=loaded[0][0].config.get("seed"),
                              training=training, calibration=calibration)
        config["members"] = entries
        config["features"] = {"kind": " + ".join(entry["features"] for entry in entries), "settings": {}}
        return _finish(staging, folder, config, metrics, latency=latency)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def update_metrics(folder, extra):
    """Merge ``extra`` (top-level metrics fields) into a saved folder's metrics and rewrite its card, atomically."""
    from ser_core.modelfolder.card import model_card
    from ser_core.modelfolder.reliability import folder_reliability

    folder = Path(folder)
    config = read_config(folder)
    data = json.loads((folder / METRICS_FILE).read_text())
    data.update(extra)
    metrics = ModelMetrics.from_dict(data)
    atomic.write_json(folder / METRICS_FILE, metrics.to_dict(), default=atomic.json_default)
    atomic.write_text(folder / CARD_FILE, model_card(config, metrics,
                                                 reliability=folder_reliability(folder, metrics=metrics)))
    return metrics
