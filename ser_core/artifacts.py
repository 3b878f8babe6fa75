"""Self-describing model folders: save atomically, load safely, predict from raw audio.

A model folder holds

* ``config.json``: format version, model name and settings, feature kind with every
  feature and preprocessing setting, labels, protocol, seed, package versions and
  the SHA-256 of every other file;
* the weights (``model.keras`` + ``keras_classifier.json`` for Keras, ``model.joblib``
  for scikit-learn);
* ``metrics.json``: the evaluation (per fold too) and the cost figures;
* ``MODEL_CARD.md``: a short human summary stating the protocol and the numbers.

joblib weights are pickles, which can run code when loaded: they are only loaded from
the project's own ``artifacts/`` folder or when the caller passes ``trust=True``.
"""

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import ArtifactError, InputError, ModelError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
DEFAULT_POINTER = "DEFAULT"
#: The project's own artifacts folder: pickled weights found here are trusted.
ARTIFACTS_DIR = Path(__file__).resolve().parents[1] / "artifacts"
REQUIRED_KEYS = ("format_version", "name", "model", "features", "preprocess", "labels", "files")


def _sha256(path):
    """Return the hex SHA-256 of a file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _versions(family):
    """Return the versions of the packages a model of this family depends on."""
    import importlib.metadata as metadata

    names = ["numpy", "scikit-learn", "librosa"] + (["tensorflow-cpu", "tensorflow", "keras"] if family == "keras" else ["joblib"])
    versions = {"python": platform.python_version()}
    from . import __version__

    versions["ser_core"] = __version__
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _spec_settings(spec):
    """Return every setting of a FeatureSpec as a JSON-ready dict."""
    if hasattr(spec, "to_dict"):
        return spec.to_dict()
    if dataclasses.is_dataclass(spec):
        return dataclasses.asdict(spec)
    return {key: value for key, value in vars(spec).items() if not key.startswith("_")}


def _json_default(value):
    """Convert NumPy scalars and arrays for json.dumps."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (Path, tuple)):
        return str(value) if isinstance(value, Path) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dump_json(path, data):
    """Write ``data`` as indented JSON."""
    Path(path).write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _fmt(value, *, percent=True):
    """Format a metric value or a {mean, std} summary."""
    if isinstance(value, dict):
        if percent:
            return f"{100 * value['mean']:.2f}% ± {100 * value['std']:.2f}"
        return f"{value['mean']:.3f} ± {value['std']:.3f}"
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if percent else f"{value:.3f}"


def model_card(config, metrics):
    """Return the Markdown model card: what the model is, how it was evaluated, its numbers."""
    lines = [
        f"# {config['name']}",
        "",
        f"- model: `{config['model']}` ({config.get('description', '')})",
        f"- features: `{config['features']['kind']}`; preprocessing: {config['preprocess']}",
        f"- labels: {', '.join(config['labels'])}",
        f"- trained on: {config.get('training', {}).get('data', '-')} "
        f"({config.get('training', {}).get('n_clips', '-')} clips, all of them for this shipped model)",
        f"- seed: {config.get('seed')}; parameters: {metrics.get('n_parameters', '-')}; "
        f"size on disk: {metrics.get('size_bytes', 0) / 1e6:.2f} MB; "
        f"latency per 3-s clip: {metrics.get('latency_ms_per_3s_clip', float('nan')):.1f} ms (features included)",
        "",
        "## Evaluation",
        "",
        "| protocol | test accuracy | UAR | macro F1 | train accuracy |",
        "|---|---|---|---|---|",
    ]
    for protocol, result in metrics.get("protocols", {}).items():
        summary = result.get("summary", {})
        lines.append(
            f"| {result.get('description', protocol)} | {_fmt(summary.get('accuracy'))} | {_fmt(summary.get('uar'))} "
            f"| {_fmt(summary.get('macro_f1'), percent=False)} | {_fmt(summary.get('train_accuracy'))} |"
        )
    lines += [
        "",
        "A random split puts the same actors in training and test data, so it rewards "
        "memorising voices; the speaker-independent protocol (test actors never seen in "
        "training) is the honest estimate for new speakers. Validation for early stopping "
        "always came from the training actors, never from the test fold.",
        "",
    ]
    return "\n".join(lines)


def save_artifact(
    folder,
    estimator,
    *,
    model_name,
    feature_kind,
    preprocess=None,
    labels=None,
    protocol=None,
    seed=42,
    metrics=None,
    training=None,
    description="",
):
    """Write a complete model folder atomically and return its path.

    Everything goes into a hidden sibling folder first and is renamed into place at
    the end, so a crash mid-save never leaves a folder that looks valid.

    Parameters
    ----------
    folder : path
        Destination; an existing model folder there is replaced.
    estimator : fitted model from :mod:`ser_core.models`
    model_name : str
        Registry name (``cnn``, ``random_forest``, ...).
    feature_kind : str
        Feature kind the model was trained on, e.g. ``MFCC-16000-40``.
    preprocess : PreprocessSettings, optional
        Preprocessing of the training clips (default: the study's).
    labels : sequence of str, optional
        Class order; default ``estimator.classes_``.
    protocol : dict, optional
        The evaluation protocol(s) of ``metrics`` (names, folds, test actors).
    metrics : dict, optional
        Evaluation results; size on disk and parameter count are added.
    training : dict, optional
        Data and training facts (data path, n_clips, time, epochs, ...).
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

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()
        estimator.save(staging)
        files = {path.name: _sha256(path) for path in sorted(staging.iterdir()) if path.is_file()}
        config = {
            "format_version": FORMAT_VERSION,
            "name": folder.name,
            "model": model_name,
            "family": family,
            "description": description or DESCRIPTIONS.get(model_name, ""),
            "model_settings": estimator.get_params(),
            "features": {"kind": spec.name, "settings": _spec_settings(spec)},
            "preprocess": preprocess.to_dict(),
            "labels": labels,
            "protocol": protocol or {},
            "seed": seed,
            "training": training or {},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(family),
            "files": files,
        }
        metrics = dict(metrics or {})
        metrics["n_parameters"] = int(getattr(estimator, "n_parameters_", 0))
        metrics["size_bytes"] = int(sum((staging / name).stat().st_size for name in files))
        _dump_json(staging / METRICS_FILE, metrics)
        (staging / CARD_FILE).write_text(model_card(config, metrics))
        _dump_json(staging / CONFIG_FILE, config)  # last: a folder without it is never valid
        _swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _swap_into_place(staging, folder):
    """Rename ``staging`` to ``folder``, replacing an existing folder with the fewest steps."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    retired = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(folder, retired)
    os.replace(staging, folder)
    shutil.rmtree(retired, ignore_errors=True)


def update_metrics(folder, extra):
    """Merge ``extra`` into a saved folder's metrics.json and rewrite its model card."""
    folder = Path(folder)
    config = read_config(folder)
    metrics = json.loads((folder / METRICS_FILE).read_text())
    metrics.update(extra)
    _dump_json(folder / METRICS_FILE, metrics)
    (folder / CARD_FILE).write_text(model_card(config, metrics))
    return metrics


def read_config(folder):
    """Return a model folder's config after checking its format; raise ArtifactError naming the problem."""
    folder = Path(folder)
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
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"{folder} has format_version {version!r}; this ser_core reads format_version {FORMAT_VERSION} "
            "(retrain the model or use a matching ser_core version)"
        )
    missing = [key for key in REQUIRED_KEYS if key not in config]
    if missing:
        raise ArtifactError(f"{path} is incomplete: missing {', '.join(missing)}")
    return config


def _check_files(folder, config):
    """Raise ArtifactError for a missing metrics file or a weights file that is missing or altered."""
    if not (folder / METRICS_FILE).is_file():
        raise ArtifactError(f"{folder} is incomplete: {METRICS_FILE} is missing")
    for name, digest in config["files"].items():
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"{folder} is incomplete: weights file {name} is missing")
        if _sha256(path) != digest:
            raise ArtifactError(f"{path} is corrupt: its SHA-256 does not match the one recorded in {CONFIG_FILE}")


def _is_trusted_location(folder):
    """True when ``folder`` lies inside the project's own artifacts/ directory."""
    try:
        Path(folder).resolve().relative_to(ARTIFACTS_DIR)
    except ValueError:
        return False
    return True


class LoadedModel:
    """A trained model with its preprocessing and features: give it audio, get emotions."""

    def __init__(self, path, config, metrics, estimator):
        from .audio import PreprocessSettings
        from .features import parse_kind

        self.path = Path(path)
        self.config = config
        self.metrics = metrics
        self.estimator = estimator
        self.name = config["name"]
        self.labels = [str(label) for label in config["labels"]]
        self.settings = PreprocessSettings.from_dict(config["preprocess"])
        self.spec = parse_kind(config["features"]["kind"])

    def __repr__(self):
        return f"LoadedModel(name={self.name!r}, model={self.config['model']!r}, features={self.spec.name!r})"

    def prepare(self, source, *, sample_rate=None):
        """Return preprocessed mono audio at the model's rate from a path, bytes, file object or array.

        An array needs ``sample_rate`` (Hz); it is resampled when it differs from the
        model's rate.
        """
        from .audio import load_clip, preprocess, resample

        settings = self.settings
        if isinstance(source, np.ndarray):
            if sample_rate is None:
                raise InputError("an audio array needs sample_rate (Hz); received sample_rate=None")
            y = np.asarray(source, dtype=np.float32)
            if y.ndim == 2:  # (n, channels) as soundfile returns it
                y = y.mean(axis=1)
            y = resample(y, orig_sr=int(sample_rate), target_sr=settings.sample_rate)
            return preprocess(
                y, sample_rate=settings.sample_rate, top_db=settings.top_db,
                normalize=settings.normalize, min_duration_s=settings.min_duration_s,
            )
        return load_clip(source, settings=settings)

    def features(self, source, *, sample_rate=None):
        """Return the model's features for one clip (preprocessing included)."""
        from .features import extract

        y = self.prepare(source, sample_rate=sample_rate)
        return extract(y, spec=self.spec, sample_rate=self.settings.sample_rate)

    def predict_proba(self, source, *, sample_rate=None):
        """Return the class probabilities of one clip, in :attr:`labels` order."""
        X = np.asarray(self.features(source, sample_rate=sample_rate))[None]
        return self.estimator.predict_proba(X)[0]

    def predict(self, source, *, sample_rate=None):
        """Return the most likely emotion of one clip."""
        return self.labels[int(np.argmax(self.predict_proba(source, sample_rate=sample_rate)))]

    def probabilities(self, source, *, sample_rate=None):
        """Return ``{label: probability}`` for one clip."""
        return dict(zip(self.labels, map(float, self.predict_proba(source, sample_rate=sample_rate))))

    def predict_proba_features(self, X):
        """Return probabilities for already-extracted features ``(clips, ...)``."""
        return self.estimator.predict_proba(X)


def load_model(path, *, trust=False):
    """Load a model folder written by :func:`save_artifact`.

    Parameters
    ----------
    path : path
        The model folder.
    trust : bool
        Allow loading pickled (joblib) weights from outside the project's
        ``artifacts/`` folder. Pickles can execute code: only trust folders you made.

    Raises
    ------
    ArtifactError
        The folder is missing, incomplete, corrupt, from another format version, or
        holds pickled weights from an untrusted place.
    """
    from .models.registry import MODEL_NAMES, load_estimator, model_family

    folder = Path(path)
    config = read_config(folder)
    if config["model"] not in MODEL_NAMES:
        raise ArtifactError(f"{folder} holds model {config['model']!r}, which this ser_core does not know ({', '.join(MODEL_NAMES)})")
    _check_files(folder, config)
    if model_family(config["model"]) == "sklearn" and not (trust or _is_trusted_location(folder)):
        raise ArtifactError(
            f"{folder} holds pickled scikit-learn weights (model.joblib) outside {ARTIFACTS_DIR}; "
            "loading a pickle can run arbitrary code, so pass trust=True (CLI: --trust) only if you trust its source"
        )
    try:
        metrics = json.loads((folder / METRICS_FILE).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{folder / METRICS_FILE} is corrupt: not valid JSON ({error})") from None
    settings = config.get("model_settings") if config["model"] == "wav2vec2_rf" else None
    try:
        estimator = load_estimator(config["model"], folder, settings=settings)
    except ModelError as error:
        raise ArtifactError(f"{folder}: {error}") from None
    loaded_labels = [str(label) for label in estimator.classes_]
    if loaded_labels != list(config["labels"]):
        raise ArtifactError(f"{folder}: weights predict {loaded_labels} but {CONFIG_FILE} lists {config['labels']}")
    try:
        return LoadedModel(folder, config, metrics, estimator)
    except InputError as error:
        raise ArtifactError(f"{folder}: {CONFIG_FILE} has unusable settings: {error}") from None


def list_artifacts(root=None):
    """Return one summary dict per model folder under ``root`` (default: the project's artifacts/).

    Each dict has ``name``, ``path``, ``model``, ``features``, ``config`` and
    ``metrics``; a folder that cannot be read gets an ``error`` entry instead of
    metrics. Weights are not loaded.
    """
    root = Path(root) if root is not None else ARTIFACTS_DIR
    if not root.is_dir():
        return []
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        row = {"name": folder.name, "path": str(folder)}
        try:
            config = read_config(folder)
            row.update(model=config["model"], features=config["features"]["kind"], config=config)
            row["metrics"] = json.loads((folder / METRICS_FILE).read_text())
        except (ArtifactError, OSError, ValueError) as error:
            row["error"] = str(error)
        rows.append(row)
    return rows


def default_model_dir(root=None):
    """Return the default model folder: the one named in ``<root>/DEFAULT`` (root: the project's artifacts/)."""
    root = Path(root) if root is not None else ARTIFACTS_DIR
    pointer = root / DEFAULT_POINTER
    if not pointer.is_file():
        raise ArtifactError(f"no default model: {pointer} is missing (it names a model folder in {root})")
    name = pointer.read_text().strip()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ArtifactError(f"{pointer} should hold the name of a model folder in {root}; got {name!r}")
    folder = root / name
    if not folder.is_dir():
        raise ArtifactError(f"{pointer} names {name!r}, but {folder} does not exist")
    return folder


def set_default_model(name, *, root=None):
    """Point ``<root>/DEFAULT`` at the model folder ``name`` (written atomically)."""
    root = Path(root) if root is not None else ARTIFACTS_DIR
    read_config(root / name)
    staging = root / f".{DEFAULT_POINTER}.partial"
    staging.write_text(name + "\n")
    os.replace(staging, root / DEFAULT_POINTER)
    return root / name
