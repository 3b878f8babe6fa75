"""Run an evaluation protocol and fit the model to ship: ``train(config, data=...)``.

Protocols:

* ``random``: the study's stratified random 80/20 split (same actors in train and
  test: it measures voice memorisation as much as emotion);
* ``kfold``: speaker-independent grouped k-fold by actor, reported as mean ± std;
* ``holdout``: fixed held-out test actors.

Validation data for early stopping always comes out of the training part of a fold
(:func:`ser_core.splits.validation_split`), never from its test part. Augmented copies
(``TrainConfig.augment``, :mod:`ser_core.augment`) are added for the fitted clips only:
never for validation or test clips.
"""

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .errors import InputError
from .labels import ALL_EMOTIONS

PROTOCOLS = ("random", "kfold", "holdout")
PROTOCOL_DESCRIPTIONS = {
    "random": "study's random stratified 80/20 split (speakers shared)",
    "kfold": "speaker-independent {n}-fold by actor",
    "holdout": "held-out actors {actors}",
}


@dataclass
class TrainConfig:
    """Everything that decides a training run (the defaults are the study's)."""

    model: str = "cnn"
    features: str = "MFCC-16000-40"
    protocol: str = "random"
    n_folds: int = 5
    test_actors: tuple = ()
    test_size: float = 0.2
    loss: str = "crossentropy"
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    epochs: int = 30
    batch_size: int = 36
    learning_rate: float = 1e-3
    seed: int = 42
    validation_fraction: float = 0.15
    model_params: dict = field(default_factory=dict)
    augment: tuple = ()

    def __post_init__(self):
        from .augment import parse_augmentation
        from .models.registry import MODEL_NAMES

        if self.model not in MODEL_NAMES:
            raise InputError(f"unknown model {self.model!r}; expected one of {', '.join(MODEL_NAMES)}")
        if self.protocol not in PROTOCOLS:
            raise InputError(f"unknown protocol {self.protocol!r}; expected one of {', '.join(PROTOCOLS)}")
        if self.protocol == "holdout" and not self.test_actors:
            raise InputError("the holdout protocol needs test_actors (e.g. (1, 2))")
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise InputError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        self.test_actors = tuple(self.test_actors)
        if isinstance(self.augment, str):
            raise InputError(f"augment must be a sequence of keys such as ('speed0.9', 'speed1.1'); received {self.augment!r}")
        self.augment = tuple(parse_augmentation(key).key for key in self.augment)
        if len(set(self.augment)) != len(self.augment):
            raise InputError(f"augmentations repeat in {self.augment}; name each once")

    def to_dict(self):
        """Return the settings as a JSON-ready dict."""
        data = asdict(self)
        data["test_actors"] = [str(actor) for actor in self.test_actors]
        data["augment"] = list(self.augment)
        return data

    def make_estimator(self):
        """Return an unfitted estimator with this run's settings."""
        from .models.registry import make_model, model_family

        params = dict(self.model_params)
        params["seed"] = self.seed
        if model_family(self.model) == "keras":
            params.update(
                loss=self.loss, focal_alpha=self.focal_alpha, focal_gamma=self.focal_gamma, epochs=self.epochs,
                batch_size=self.batch_size, learning_rate=self.learning_rate,
            )
        return make_model(self.model, **params)

    def describe_protocol(self):
        """Return a one-line description of the protocol."""
        actors = ", ".join(str(actor) for actor in self.test_actors)
        return PROTOCOL_DESCRIPTIONS[self.protocol].format(n=self.n_folds, actors=actors)


@dataclass
class Dataset:
    """Features with their labels, actors and source paths, first axis = clips."""

    X: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    paths: list
    feature_kind: str
    settings: object
    corpus: str = ""
    source: str = ""
    augmented: dict = field(default_factory=dict)
    """Features of augmented copies of every clip, by augmentation key (same row order as X)."""

    @property
    def label_order(self):
        """The labels present, in the shared emotion order."""
        present = set(self.labels.tolist())
        return [name for name in ALL_EMOTIONS if name in present] + sorted(present - set(ALL_EMOTIONS))


@dataclass
class TrainResult:
    """A fitted model (on all the data) and the protocol's metrics."""

    model: object
    config: TrainConfig
    metrics: dict
    history: dict
    training: dict
    settings: object = None


def load_dataset(data, *, feature_kind, settings=None, progress=None, augment=()):
    """Return a :class:`Dataset`: index ``data`` (folder, zip or CorpusIndex) and extract features.

    Byte-identical duplicate clips (two files of RAVDESS actor 07) are dropped so a
    clip can never be in training and test at once. Features come from the cache
    when they were extracted before. ``augment``: augmentation keys (e.g. ``speed0.9``)
    whose copies of every clip are extracted too.
    """
    from .audio import PreprocessSettings
    from .augment import parse_augmentation
    from .corpus import CorpusIndex, index_corpus
    from .features import extract_corpus, parse_kind

    if isinstance(data, Dataset):
        missing = [key for key in augment if key not in data.augmented]
        if missing:
            raise InputError(f"the dataset has no features for augmentations {missing}; load it with augment=...")
        return data
    spec = parse_kind(feature_kind)
    settings = replace(settings or PreprocessSettings(), sample_rate=spec.sample_rate)
    index = data if isinstance(data, CorpusIndex) else index_corpus(data)
    clips = index.clips
    if "duplicate_of" in clips:
        clips = clips[clips["duplicate_of"].isna()]
    paths = clips["path"].tolist()
    X = np.asarray(extract_corpus(paths, spec=spec, settings=settings, progress=progress))
    augmented = {key: np.asarray(extract_corpus(paths, spec=spec, settings=settings, progress=progress,
                                                augmentation=parse_augmentation(key)))
                 for key in augment}
    return Dataset(
        X=X,
        labels=clips["emotion"].to_numpy(dtype=str),
        groups=clips["actor"].astype(str).to_numpy(),
        paths=paths,
        feature_kind=spec.name,
        settings=settings,
        corpus=index.corpus,
        source="" if isinstance(data, CorpusIndex) else str(data),
        augmented=augmented,
    )


def protocol_splits(config, dataset):
    """Return the ``[(train_idx, test_idx), ...]`` of the configured protocol."""
    from .splits import grouped_kfold, holdout_actors, random_split

    if config.protocol == "random":
        return [random_split(dataset.labels, test_size=config.test_size, seed=config.seed)]
    if config.protocol == "kfold":
        return grouped_kfold(dataset.groups, n_splits=int(config.n_folds), labels=dataset.labels, seed=config.seed)
    return [holdout_actors(dataset.groups, test_actors=config.test_actors)]


def _fit(config, dataset, train_idx, *, speaker_independent, progress, should_stop):
    """Fit a fresh estimator on ``train_idx``, early-stopping on a validation part of it."""
    from .models.registry import model_family
    from .splits import validation_split

    estimator = config.make_estimator()
    X, y = dataset.X, dataset.labels
    fit_idx, val_idx = train_idx, np.array([], dtype=int)
    if model_family(config.model) == "keras":
        speaker_independent = speaker_independent and len(np.unique(dataset.groups[train_idx])) >= 2
        fit_idx, val_idx = validation_split(
            train_idx, labels=y, groups=dataset.groups, fraction=config.validation_fraction, seed=config.seed,
            speaker_independent=speaker_independent,
        )
        if len(np.unique(y[fit_idx])) < len(np.unique(y[train_idx])):
            fit_idx, val_idx = train_idx, np.array([], dtype=int)  # too little data to spare a validation part
    X_fit, y_fit, extra = _with_augmented_copies(estimator, dataset, config.augment, fit_idx)
    start = time.perf_counter()
    estimator.fit(
        X_fit, y_fit,
        X_val=X[val_idx] if len(val_idx) else None, y_val=y[val_idx] if len(val_idx) else None,
        progress=progress, should_stop=should_stop, **extra,
    )
    facts = {
        "n_fit_clips": int(len(fit_idx)),
        "n_augmented_clips": int(len(fit_idx) * len(config.augment)),
        "n_validation_clips": int(len(val_idx)),
        "training_time_s": round(time.perf_counter() - start, 3),
        "epochs_run": len(getattr(estimator, "history_", {}).get("loss", [])),
    }
    return estimator, facts


def _with_augmented_copies(estimator, dataset, augment, fit_idx):
    """Return (X_fit, y_fit, extra fit kwargs) with the fitted clips' augmented copies added.

    A model whose ``fit`` takes ``X_augmented`` (``adaptive_linear``) gets the copies
    apart (they train its single-clip head only); any other model gets them as more rows.
    """
    import inspect

    X, y = dataset.X[fit_idx], dataset.labels[fit_idx]
    if not augment:
        return X, y, {}
    copies = np.concatenate([dataset.augmented[key][fit_idx] for key in augment])
    copy_labels = np.concatenate([y] * len(augment))
    if "X_augmented" in inspect.signature(estimator.fit).parameters:
        return X, y, {"X_augmented": copies, "y_augmented": copy_labels}
    return np.concatenate([X, copies]), np.concatenate([y, copy_labels]), {}


def _tagged(progress, **tags):
    """Wrap a progress callback so every record also carries ``tags`` (fold numbers)."""
    if progress is None:
        return None
    return lambda record: progress({**tags, **record})


def run_protocol(config, dataset, *, progress=None, should_stop=None):
    """Train and test once per fold of ``config.protocol``; return the protocol's metrics dict.

    The dict has ``protocol``, ``description``, ``folds`` (one metrics dict per fold,
    with train accuracy, test actors and training facts) and ``summary`` (mean ± std).
    """
    from .evaluate import evaluate_predictions, summarize_folds

    splits = protocol_splits(config, dataset)
    labels = dataset.label_order
    folds, histories = [], []
    for number, (train_idx, test_idx) in enumerate(splits, start=1):
        estimator, facts = _fit(
            config, dataset, train_idx, speaker_independent=config.protocol != "random",
            progress=_tagged(progress, protocol=config.protocol, fold=number, n_folds=len(splits)),
            should_stop=should_stop,
        )
        metrics = evaluate_predictions(dataset.labels[test_idx], estimator.predict(dataset.X[test_idx]), labels=labels)
        metrics["train_accuracy"] = float(np.mean(estimator.predict(dataset.X[train_idx]) == dataset.labels[train_idx]))
        metrics["test_actors"] = sorted(set(dataset.groups[test_idx].tolist()))
        metrics.update(facts, fold=number, n_train_clips=int(len(train_idx)), n_test_clips=int(len(test_idx)))
        folds.append(metrics)
        histories.append(getattr(estimator, "history_", {}))
    return {
        "protocol": config.protocol,
        "description": config.describe_protocol(),
        "settings": config.to_dict(),
        "labels": labels,
        "folds": folds,
        "summary": summarize_folds(folds),
        "histories": histories,
    }


def fit_final(config, dataset, *, progress=None, should_stop=None):
    """Fit the model to ship on all clips (minus validation actors for early stopping)."""
    return _fit(
        config, dataset, np.arange(len(dataset.labels)), speaker_independent=True,
        progress=_tagged(progress, protocol="final", fold="final", n_folds=1), should_stop=should_stop,
    )


def train(config, *, data, progress=None, should_stop=None, fit_all=True):
    """Evaluate ``config`` under its protocol, then fit the shipping model on all the data.

    Parameters
    ----------
    config : TrainConfig
    data : path, CorpusIndex or Dataset
        The corpus (folder or zip), an index of it, or already extracted features.
    progress : callable, optional
        ``progress(dict)`` per epoch with epoch, loss, accuracy, val_loss,
        val_accuracy, lr, plus protocol, fold and n_folds.
    should_stop : callable, optional
        Polled during training; returning true raises TrainingCancelled.
    fit_all : bool
        Also fit the shipping model on all the data (otherwise ``model`` is the last fold's).

    Returns
    -------
    TrainResult
    """
    start = time.perf_counter()
    dataset = load_dataset(data, feature_kind=config.features, augment=config.augment)
    metrics = run_protocol(config, dataset, progress=progress, should_stop=should_stop)
    if fit_all:
        model, facts = fit_final(config, dataset, progress=progress, should_stop=should_stop)
    else:
        model, facts = _fit(config, dataset, protocol_splits(config, dataset)[-1][0], speaker_independent=True,
                            progress=progress, should_stop=should_stop)
    training = {
        "data": dataset.source,
        "corpus": dataset.corpus,
        "n_clips": int(len(dataset.labels)),
        "n_actors": int(len(np.unique(dataset.groups))),
        "total_time_s": round(time.perf_counter() - start, 1),
        **facts,
    }
    return TrainResult(model=model, config=config, metrics=metrics, history=getattr(model, "history_", {}), training=training,
                       settings=dataset.settings)


def save_result(result, folder, *, extra_protocols=None):
    """Save a TrainResult as a model folder (:func:`ser_core.artifacts.save_artifact`) and return its path."""
    from .artifacts import save_artifact

    protocols = {result.metrics["protocol"]: result.metrics}
    protocols.update(extra_protocols or {})
    metrics = {"protocols": protocols, "training_time_s": result.training.get("training_time_s")}
    return save_artifact(
        Path(folder), result.model, model_name=result.config.model, feature_kind=result.config.features,
        preprocess=result.settings, protocol={name: p["description"] for name, p in protocols.items()},
        seed=result.config.seed, metrics=metrics, training={**result.training, "config": result.config.to_dict()},
    )
