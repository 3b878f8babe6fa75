"""Self-describing model folders: the one road to write them, and safe loading.

A model folder holds

* ``config.json``: format version, model name and settings, feature kind with every
  feature and preprocessing setting, labels, the calibration temperature, training
  facts, package versions and the SHA-256 of every other file;
* the weights (``model.keras`` + ``keras_classifier.json`` for Keras, plain arrays for
  torch and the linear models, ``model.joblib`` for scikit-learn pipelines);
* ``predictions.npz``: the out-of-fold test probabilities behind the figures;
* ``metrics.json``: the figures (:class:`ser_core.metrics.ModelMetrics`);
* ``MODEL_CARD.md``: a short human summary stating the protocols and the figures;
* for an ensemble, ``members/<name>/``: one complete model folder per member.

:func:`save_artifact` builds all of it in a hidden staging folder, loads it back, times
it, and only then swaps it into place (:func:`ser_core.atomic.replace_folder`), so a crash
at any step leaves the old complete model or the new one.

joblib weights are pickles, which can run code when loaded: they are only loaded from
the project's own ``artifacts/`` folder, the configured ``$SER_ARTIFACTS_DIR``, or when
the caller passes ``trust=True`` (:func:`is_trusted`).

Examples
--------
>>> model = load_model(default_model_dir())  # doctest: +SKIP
>>> model.probabilities("clip.wav")  # doctest: +SKIP
{'neutral': 0.02, 'calm': 0.05, ...}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import atomic
from .errors import ArtifactError, InputError, ModelError
from .metrics import ModelMetrics

FORMAT_VERSION = 2
#: Format versions this release reads (1: the first release, without calibration or members).
READABLE_VERSIONS = (1, 2)
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
PREDICTIONS_FILE = "predictions.npz"
MEMBERS_FOLDER = "members"
DEFAULT_POINTER = "DEFAULT"
#: The project's own artifacts folder (the shipped models).
PROJECT_ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
#: Environment variable naming another folder of model folders.
ARTIFACTS_ENV = "SER_ARTIFACTS_DIR"
REQUIRED_KEYS = ("format_version", "name", "model", "features", "preprocess", "labels", "files")
#: A model folder name: one path component of letters, digits, ".", "_" and "-", not starting with "." or "-".
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def artifacts_root() -> Path:
    """The folder of model folders: ``$SER_ARTIFACTS_DIR`` when set, else the project's ``artifacts/``."""
    configured = os.environ.get(ARTIFACTS_ENV, "").strip()
    return Path(configured).expanduser() if configured else PROJECT_ARTIFACTS


def is_trusted(folder) -> bool:
    """True when ``folder`` lies inside the project's ``artifacts/`` or the configured artifacts root.

    The one trust rule: pickled weights load without ``trust=True`` only from there.
    """
    resolved = Path(folder).resolve()
    for root in {PROJECT_ARTIFACTS.resolve(), artifacts_root().resolve()}:
        if resolved == root or root in resolved.parents:
            return True
    return False


def check_model_name(name: str) -> str:
    """Return ``name`` if it can name a model folder, else raise InputError saying what is allowed.

    One path component of at most 64 letters, digits, ``.``, ``_`` and ``-``, starting
    with a letter or digit (so never ``.``, ``..`` or a hidden name).
    """
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name) or name in (".", ".."):
        raise InputError(f"{name!r} cannot name a model folder: use 1-64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit (no slashes)")
    return name


def folder_in(root, name: str) -> Path:
    """The model folder ``name`` inside ``root``, checked to stay inside it after resolving links."""
    root = Path(root)
    folder = root / check_model_name(name)
    resolved_root = root.resolve()
    resolved = folder.resolve()
    if resolved.parent != resolved_root:
        raise InputError(f"{name!r} resolves outside the models folder; choose another name")
    return folder


def _sha256(path):
    """Return the hex SHA-256 of a file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _versions(family):
    """Return the versions of the packages a model of this family depends on."""
    import importlib.metadata as metadata

    from . import __version__

    extra = {"keras": ["tensorflow-cpu", "tensorflow", "keras"], "torch": ["torch"]}.get(family, ["joblib"])
    versions = {"python": platform.python_version(), "ser_core": __version__}
    for name in ["numpy", "scikit-learn", "librosa", *extra]:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _json_default(value):
    """Convert NumPy scalars and arrays, paths and tuples for json.dumps."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _file_digests(folder: Path) -> dict:
    """SHA-256 of every weights file in ``folder`` (and under members/), by relative path."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digests[path.relative_to(folder).as_posix()] = _sha256(path)
    return digests


def _as_metrics(metrics) -> ModelMetrics:
    if isinstance(metrics, ModelMetrics):
        return dataclasses.replace(metrics)
    return ModelMetrics.from_dict(metrics or {})


def _predictions_arrays(predictions) -> dict:
    """Flatten ``{protocol: {key: values}}`` into npz arrays named ``<protocol>/<key>``."""
    arrays = {}
    for protocol, block in (predictions or {}).items():
        for key, values in block.items():
            arrays[f"{protocol}/{key}"] = np.asarray(values, dtype=np.float32 if key == "probabilities" else None)
    return arrays


def _finish(staging: Path, folder: Path, config: dict, metrics: ModelMetrics, *, latency: bool) -> Path:
    """Write config, load the staged folder back, time it, write metrics and card, swap into place."""
    from .card import model_card

    config["files"] = _file_digests(staging)
    atomic.write_json(staging / CONFIG_FILE, config, default=_json_default)
    atomic.checkpoint("after-config")
    metrics.size_bytes = int(sum((staging / name).stat().st_size for name in config["files"]))
    atomic.write_json(staging / METRICS_FILE, metrics.to_dict(), default=_json_default)
    if latency:
        from .evaluate import latency_per_clip_ms

        metrics.latency_ms_per_3s_clip = round(latency_per_clip_ms(load_model(staging, trust=True), repeats=5), 2)
        atomic.write_json(staging / METRICS_FILE, metrics.to_dict(), default=_json_default)
    atomic.write_text(staging / CARD_FILE, model_card(config, metrics))
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
        "training": training or {},
        "calibration": calibration or {},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(family),
    }


def save_artifact(folder, estimator, *, model_name, feature_kind, preprocess=None, labels=None, seed=42,
                  metrics=None, training=None, predictions=None, calibration=None, description="", latency=True):
    """Write a complete model folder, atomically, and return its path.

    Parameters
    ----------
    folder : path
        Destination; an existing model folder there is replaced in one step.
    estimator : fitted model from :mod:`ser_core.models`
    model_name : str
        Registry name (``cnn``, ``logmel_cnn``, ``adaptive_linear``, ...).
    feature_kind : str
        Feature kind the model was trained on, e.g. ``MFCC-16000-40``.
    preprocess : PreprocessSettings, optional
        Preprocessing of the training clips (default: this release's defaults).
    labels : sequence of str, optional
        Class order; default ``estimator.classes_``.
    metrics : ModelMetrics or dict, optional
        The figures; size, parameter count and (``latency=True``) latency are added.
    training : dict, optional
        Data and training facts (data path, n_clips, time, epochs, command, ...).
    predictions : dict, optional
        Out-of-fold test predictions per protocol (``ser_core.train.TrainResult.predictions``).
    calibration : dict, optional
        ``temperature`` (and ``temperature_adapted``) applied to the probabilities, with where it was fitted.
    latency : bool
        Time the saved model on a 3-s clip (decoding and features included).
    """
    from .audio import PreprocessSettings
    from .features import parse_kind
    from .models.registry import DESCRIPTIONS, model_family

    folder = Path(folder)
    preprocess = preprocess or PreprocessSettings()
    spec = parse_kind(feature_kind)
    family = model_family(model_name)
    if not hasattr(estimator, "classes_"):
        raise ModelError("only a fitted model can be saved; call fit first")
    labels = [str(label) for label in (labels if labels is not None else estimator.classes_)]
    if labels != [str(label) for label in estimator.classes_]:
        raise InputError(f"labels {labels} differ from the model's classes {list(estimator.classes_)}")
    metrics = _as_metrics(metrics)
    metrics.n_parameters = int(getattr(estimator, "n_parameters_", 0))
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = atomic.staging_folder(folder)
    try:
        estimator.save(staging)
        arrays = _predictions_arrays(predictions)
        if arrays:
            np.savez(staging / PREDICTIONS_FILE, **arrays)
        atomic.checkpoint("after-weights")
        config = _base_config(folder, model_name=model_name, family=family,
                              description=description or DESCRIPTIONS.get(model_name, ""), labels=labels,
                              preprocess=preprocess, seed=seed, training=training, calibration=calibration)
        config["model_settings"] = _plain_params(estimator)
        config["features"] = {"kind": spec.name, "settings": spec.to_dict()}
        return _finish(staging, folder, config, metrics, latency=latency)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _plain_params(estimator) -> dict:
    """The estimator's constructor settings, JSON-ready."""
    return json.loads(json.dumps(estimator.get_params(deep=False), default=_json_default))


def save_ensemble(folder, members, *, metrics=None, training=None, predictions=None, calibration=None,
                  description="", latency=True):
    """Write an ensemble: member model folders copied under ``members/``, averaged with weights.

    ``members`` is a list of ``(member folder, weight)``; every member must predict the
    same labels. The ensemble averages its members' calibrated probabilities, then applies
    its own ``calibration`` temperature.
    """
    from .inference import load_ensemble_members

    folder = Path(folder)
    loaded = load_ensemble_members([(Path(path), float(weight)) for path, weight in members], trust=True)
    labels = loaded[0][0].labels
    first_training = loaded[0][0].config.get("training") or {}
    training = {**{key: first_training.get(key) for key in ("data", "corpus", "n_clips", "n_actors")}, **(training or {})}
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
        arrays = _predictions_arrays(predictions)
        if arrays:
            np.savez(staging / PREDICTIONS_FILE, **arrays)
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
    from .card import model_card

    folder = Path(folder)
    config = read_config(folder)
    data = json.loads((folder / METRICS_FILE).read_text())
    data.update(extra)
    metrics = ModelMetrics.from_dict(data)
    atomic.write_json(folder / METRICS_FILE, metrics.to_dict(), default=_json_default)
    atomic.write_text(folder / CARD_FILE, model_card(config, metrics))
    return metrics


def read_config(folder):
    """Return a model folder's config after checking its format; raise ArtifactError naming the problem."""
    folder = Path(folder)
    if not folder.is_dir():
        atomic.recover_folder(folder)
    if not folder.is_dir():
        raise ArtifactError(f"model folder {folder} does not exist or is not a folder")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ArtifactError(f"{folder} is not a model folder: {CONFIG_FILE} is missing (incomplete or interrupted save?)")
    try:
        config = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path} is corrupt: not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise ArtifactError(f"{path} is corrupt: expected a JSON object, got {type(config).__name__}")
    version = config.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ArtifactError(
            f"{folder} has format_version {version!r}; this ser_core reads format versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} (retrain the model or use a matching ser_core version)"
        )
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise ArtifactError(f"{path} is incomplete: missing {', '.join(missing)}")
    return config


def read_metrics(folder) -> ModelMetrics:
    """A model folder's figures; ArtifactError when ``metrics.json`` is missing or corrupt."""
    path = Path(folder) / METRICS_FILE
    if not path.is_file():
        raise ArtifactError(f"{folder} is incomplete: {METRICS_FILE} is missing")
    try:
        return ModelMetrics.from_dict(json.loads(path.read_text()))
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path} is corrupt: {error}") from None


def check_files(folder, config):
    """Raise ArtifactError for a weights file that is missing or altered since it was saved."""
    folder = Path(folder)
    for name, digest in config["files"].items():
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"{folder} is incomplete: weights file {name} is missing")
        if _sha256(path) != digest:
            raise ArtifactError(f"{path} is corrupt: its SHA-256 does not match the one recorded in {CONFIG_FILE}")


def load_model(path, *, trust=False):
    """Load a model folder written by :func:`save_artifact` or :func:`save_ensemble`.

    Parameters
    ----------
    path : path
        The model folder.
    trust : bool
        Allow loading pickled (joblib) weights from outside the trusted folders
        (:func:`is_trusted`). Pickles can execute code: only trust folders you made.

    Raises
    ------
    ArtifactError
        The folder is missing, incomplete, corrupt, from another format version, or
        holds pickled weights from an untrusted place.
    """
    from .inference import build_loaded_model

    folder = Path(path)
    config = read_config(folder)
    check_files(folder, config)
    metrics = read_metrics(folder)
    return build_loaded_model(folder, config, metrics, trust=trust or is_trusted(folder))


def list_artifacts(root=None):
    """Return one summary dict per model folder under ``root`` (default: :func:`artifacts_root`).

    Each dict has ``name``, ``path``, ``model``, ``features``, ``config`` and
    ``metrics`` (a :class:`~ser_core.metrics.ModelMetrics`); a folder that cannot be read
    gets an ``error`` entry instead. Weights are not loaded; interrupted saves are tidied.
    """
    root = Path(root) if root is not None else artifacts_root()
    if not root.is_dir():
        return []
    atomic.remove_leftovers(root)
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        row = {"name": folder.name, "path": str(folder)}
        try:
            config = read_config(folder)
            row.update(model=config["model"], features=config["features"]["kind"], config=config,
                       metrics=read_metrics(folder))
        except (ArtifactError, OSError, ValueError) as error:
            row["error"] = str(error)
        rows.append(row)
    return rows


def default_model_dir(root=None):
    """Return the default model folder: the one named in ``<root>/DEFAULT`` (root: :func:`artifacts_root`)."""
    root = Path(root) if root is not None else artifacts_root()
    pointer = root / DEFAULT_POINTER
    if not pointer.is_file():
        raise ArtifactError(f"no default model: {pointer} is missing (it names a model folder in {root})")
    name = pointer.read_text().strip()
    try:
        check_model_name(name)
    except InputError:
        raise ArtifactError(f"{pointer} should hold the name of a model folder in {root}; got {name!r}") from None
    folder = root / name
    if not folder.is_dir():
        atomic.recover_folder(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{pointer} names {name!r}, but {folder} does not exist")
    return folder


def set_default_model(name, *, root=None):
    """Point ``<root>/DEFAULT`` at the model folder ``name`` (written atomically)."""
    root = Path(root) if root is not None else artifacts_root()
    read_config(folder_in(root, name))
    atomic.write_text(root / DEFAULT_POINTER, name + "\n")
    return root / name
