"""Self-describing model folders: their format, names, trust, and safe loading.

A model folder holds

* ``config.json``: format version, model name and settings, feature kind with every
  feature and preprocessing setting, labels, the calibration temperature, training
  facts, package versions and the SHA-256 of the weights, predictions and members
  (``metrics.json`` and the card are rewritten by :func:`ser_core.modelfolder.save.update_metrics`);
* the weights (``model.keras`` + ``keras_classifier.json`` for Keras, plain arrays for
  torch and the linear models, ``sklearn_pipeline.json`` + ``.npz`` for scikit-learn
  pipelines, :mod:`ser_core.models.sklearn_state`; earlier releases: ``model.joblib``);
* ``model.onnx``, for the networks (and the MLP): the same network as an ONNX graph,
  checked against the native one when saved (``config.json``'s ``onnx`` block). Loading
  serves it with onnxruntime, so serving imports neither torch nor TensorFlow; a
  network without one runs in a child process (:mod:`ser_core.models.isolated`);
* ``predictions.npz``: the out-of-fold test probabilities behind the figures;
* ``metrics.json``: the figures (:class:`ser_core.modelfolder.results.ModelMetrics`);
* ``MODEL_CARD.md``: a short human summary stating the protocols and the figures;
* for an ensemble, ``members/<name>/``: one complete model folder per member.

:mod:`ser_core.modelfolder.save` is the one road that writes them; this module reads, checks and
loads them.

Earlier releases' joblib weights are pickles, which can run code when loaded: they are only
loaded from the project's own ``artifacts/`` folder, the configured ``$SER_ARTIFACTS_DIR``, or
when the caller passes ``trust=True`` (:func:`is_trusted`).

Examples
--------
>>> model = load_model(default_model_dir())  # doctest: +SKIP
>>> model.predict_audio("clip.wav").probabilities  # doctest: +SKIP
{'neutral': 0.02, 'calm': 0.05, ...}
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path


from ser_core import atomic
from ser_core.errors import ArtifactError, InputError, ModelError, NotFittedError
from ser_core.modelfolder.loaded import EnsembleModel, LoadedModel
from ser_core.modelfolder.results import ModelMetrics

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
PROJECT_ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
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


def file_sha256(path):
    """Return the hex SHA-256 of a file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


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
    training = config.get("training")
    if isinstance(training, dict) and "n_actors" in training and "n_speakers" not in training:
        training["n_speakers"] = training.pop("n_actors")  # an earlier release's name, read as today's
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
        if file_sha256(path) != digest:
            raise ArtifactError(f"{path} is corrupt: its SHA-256 does not match the one recorded in {CONFIG_FILE}")


def load_ensemble_members(members, *, trust):
    """Load ``[(folder, weight)]`` member folders; they must predict the same labels at the same rate."""
    loaded = [(load_model(folder, trust=trust), float(weight)) for folder, weight in members]
    if len(loaded) < 2:
        raise InputError(f"an ensemble needs at least 2 members; received {len(loaded)}")
    if any(weight <= 0 for _, weight in loaded):
        raise InputError("ensemble weights must be positive")
    first = loaded[0][0]
    for model, _ in loaded[1:]:
        if model.labels != first.labels:
            raise InputError(f"ensemble members disagree on labels: {first.name} has {first.labels}, "
                             f"{model.name} has {model.labels}")
        if model.sample_rate != first.sample_rate:
            raise InputError(f"ensemble members must share a sample rate: {first.name} {first.sample_rate} Hz, "
                             f"{model.name} {model.sample_rate} Hz")
    return loaded


def _member_domains(folder, entries) -> list:
    """Each member's :class:`~ser_core.audio.quality.DomainGate` (None without one) from an ensemble's config."""
    from ser_core.audio.quality import DomainGate

    try:
        return [DomainGate.from_dict(entry["domain"]) if "domain" in entry else None for entry in entries]
    except InputError as error:
        raise ArtifactError(f"{folder}: a member's domain gate is malformed ({error})") from None


def _holds_pickle(config: dict) -> bool:
    """True for an earlier release's scikit-learn folder, whose weights are a joblib pickle."""
    from ser_core.models.classical import PICKLE_FILE

    return PICKLE_FILE in config["files"]


def _served_by_onnx(config: dict) -> bool:
    """True when the folder has a checked ONNX graph and onnxruntime is here to serve it."""
    from ser_core.models.onnx_runtime import ONNX_FILE, onnxruntime_available  # here: it imports scikit-learn

    return ONNX_FILE in config["files"] and onnxruntime_available()


def _serving_estimator(folder: Path, config: dict):
    """The estimator that serves a single model folder, loaded without torch or TensorFlow.

    The ONNX graph when the folder has one (checked against the native network when it
    was saved) and onnxruntime is installed; a network without one runs in a child
    process (:class:`~ser_core.models.isolated.IsolatedEstimator`), so its framework never
    enters this one; every other family loads here.
    """
    from ser_core.models.registry import HEAVY_FAMILIES, load_estimator, model_family

    settings = config.get("model_settings") if config["model"] == "wav2vec2_rf" else None
    if _served_by_onnx(config):
        from ser_core.models.onnx_runtime import OnnxClassifier

        return OnnxClassifier.load(folder)
    if model_family(config["model"]) in HEAVY_FAMILIES:
        from ser_core.models.isolated import IsolatedEstimator

        return IsolatedEstimator(config["model"], folder, settings=settings)
    return load_estimator(config["model"], folder, settings=settings)


def build_loaded_model(folder, config, metrics, *, trust):
    """The :class:`LoadedModel` (or :class:`EnsembleModel`) of a checked model folder."""
    from ser_core.models.registry import MODEL_NAMES

    folder = Path(folder)
    if config["model"] == "ensemble":
        entries = config.get("members") or []
        members = load_ensemble_members([(folder / MEMBERS_FOLDER / entry["name"], entry["weight"]) for entry in entries],
                                        trust=trust)
        return EnsembleModel(folder, config, metrics, members, domains=_member_domains(folder, entries))
    if config["model"] not in MODEL_NAMES:
        raise ArtifactError(f"{folder} holds model {config['model']!r}, which this ser_core does not know "
                            f"({', '.join(MODEL_NAMES)})")
    if _holds_pickle(config) and not trust and not _served_by_onnx(config):
        raise ArtifactError(
            f"{folder} holds pickled scikit-learn weights (model.joblib) outside the trusted models folder; "
            "loading a pickle can run arbitrary code, so pass trust=True (CLI: --trust) only if you trust its source"
        )
    try:
        estimator = _serving_estimator(folder, config)
    except (ModelError, NotFittedError) as error:
        raise ArtifactError(f"{folder}: {error}") from None
    loaded_labels = [str(label) for label in estimator.classes_]
    if loaded_labels != list(config["labels"]):
        raise ArtifactError(f"{folder}: weights predict {loaded_labels} but config.json lists {config['labels']}")
    try:
        return LoadedModel(folder, config, metrics, estimator)
    except InputError as error:
        raise ArtifactError(f"{folder}: config.json has unusable settings: {error}") from None


def load_model(path, *, trust=False):
    """Load a model folder written by :func:`ser_core.modelfolder.save.save_artifact` or :func:`~ser_core.modelfolder.save.save_ensemble`.

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
    folder = Path(path)
    config = read_config(folder)
    check_files(folder, config)
    metrics = read_metrics(folder)
    return build_loaded_model(folder, config, metrics, trust=trust or is_trusted(folder))


def list_artifacts(root=None):
    """Return one summary dict per model folder under ``root`` (default: :func:`artifacts_root`).

    Each dict has ``name``, ``path``, ``model``, ``features``, ``config`` and
    ``metrics`` (a :class:`~ser_core.modelfolder.results.ModelMetrics`); a folder that cannot be read
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
