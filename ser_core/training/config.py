"""What decides a training run: :class:`TrainConfig`, nested by concern and checked when it is made.

A config is the model's name and seed plus three groups of settings:

* :class:`DataSettings`: what the clips become (features, preprocessing, augmented copies,
  label renames);
* :class:`ProtocolSettings`: how the run is evaluated (the protocol and the ones scored
  beside it, folds, held-out speakers, the other corpus, the leakage check);
* :class:`FitSettings`: how the model is fitted (its own parameters, class and corpus
  balance, and for networks the length and pace of training, loss and early stopping).

It is plain data: it round-trips through JSON (:meth:`TrainConfig.to_dict`, stored with
every model folder and every dashboard job); :meth:`TrainConfig.from_dict` also reads the
flat form earlier releases stored. It makes the unfitted estimator.

Examples
--------
>>> config = TrainConfig(model="logistic_regression", protocol=ProtocolSettings("loco"))
>>> config.protocol.names, config.data.features
(('loco', 'kfold'), 'MFCC-16000-40')
>>> TrainConfig.from_dict({"model": "svm", "protocol": "kfold", "n_folds": 3}).protocol.n_folds
3
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from ser_core.data.protocols import LOCO_COMPANION, TRAINING_PROTOCOLS
from ser_core.errors import InputError

#: Early stopping watches a validation part of the training clips, or (the study, as written) the test clips.
STOP_ON = ("validation", "test")


@dataclass
class DataSettings:
    """What the clips become: ``features`` (None: the model's), ``preprocess`` overrides of
    :class:`~ser_core.audio.preprocess.PreprocessSettings` on top of the model's own (e.g.
    ``{"top_db": 30.0}``), ``augment`` keys of copies added to the fitted clips
    (:mod:`ser_core.audio.augment`), and ``label_map`` renaming labels of corpora given as paths."""

    features: str | None = None
    preprocess: dict = field(default_factory=dict)
    augment: tuple = ()
    label_map: dict = field(default_factory=dict)

    def __post_init__(self):
        from ser_core.audio.augment import parse_augmentation
        from ser_core.data.layouts import normalize_label_map

        if isinstance(self.augment, str):
            raise InputError(f"augment must be a sequence of keys such as ('speed0.9', 'speed1.1'); received "
                             f"{self.augment!r}")
        self.augment = tuple(parse_augmentation(key).key for key in self.augment)
        if len(set(self.augment)) != len(self.augment):
            raise InputError(f"augmentations repeat in {self.augment}; name each once")
        self.preprocess = dict(self.preprocess or {})
        self.label_map = normalize_label_map(dict(self.label_map or {}))


@dataclass
class ProtocolSettings:
    """How a run is evaluated.

    ``name`` is the protocol (:data:`ser_core.data.protocols.TRAINING_PROTOCOLS`); ``also``
    more protocols scored after it (e.g. ``("random",)`` to compare with the study).
    ``loco`` always brings new-speaker k-fold over all clips beside it. ``n_folds`` for
    k-fold, ``test_speakers`` for held-out speakers, ``test_size`` for the random split,
    ``test_data`` the corpus ``cross_corpus`` tests on. ``leakage`` is what a leak found
    before training does: ``"warn"``, ``"stop"`` (raises
    :class:`ser_core.data.leakage.LeakageError`) or ``"off"`` (no check).
    """

    name: str = "random"
    also: tuple = ()
    n_folds: int = 5
    test_speakers: tuple = ()
    test_size: float = 0.2
    test_data: str = ""
    leakage: str = "warn"

    def __post_init__(self):
        from ser_core.data.leakage import LEAKAGE_MODES

        self.also = tuple(protocol for protocol in self.also if protocol != self.name)
        if self.name == "loco" and LOCO_COMPANION not in self.also:
            self.also = (*self.also, LOCO_COMPANION)
        for protocol in self.names:
            if protocol not in TRAINING_PROTOCOLS:
                raise InputError(f"unknown protocol {protocol!r}; expected one of {', '.join(TRAINING_PROTOCOLS)}")
        if isinstance(self.test_speakers, (str, int)):
            self.test_speakers = (self.test_speakers,)
        self.test_speakers = tuple(str(speaker) for speaker in self.test_speakers)
        if "holdout" in self.names and not self.test_speakers:
            raise InputError("the holdout protocol needs test_speakers (e.g. ('01', '02'))")
        self.test_data = str(self.test_data or "")
        if "cross_corpus" in self.names and not self.test_data:
            raise InputError("the cross_corpus protocol needs test_data: the corpus to test on (folder, zip or "
                             "manifest)")
        if int(self.n_folds) < 2:
            raise InputError(f"n_folds must be at least 2, got {self.n_folds}")
        if self.leakage not in LEAKAGE_MODES:
            raise InputError(f"leakage is {self.leakage!r}; expected one of {', '.join(LEAKAGE_MODES)}")

    @property
    def names(self) -> tuple:
        """Every protocol the run scores: the main one first."""
        return (self.name, *self.also)

    def spec(self, protocol: str | None = None, *, seed: int = 42):
        """The :class:`~ser_core.data.splits.SplitSpec` of one of the run's protocols (default: the main one)."""
        from ser_core.data.splits import SplitSpec

        return SplitSpec(protocol or self.name, n_folds=int(self.n_folds), test_speakers=self.test_speakers,
                         test_size=self.test_size, seed=seed)


@dataclass
class FitSettings:
    """How the model is fitted.

    ``params`` go to the model's constructor. ``balance``: when the training clips come
    from two or more corpora, weight them so each corpus counts the same and classes balance
    within each (models whose ``fit`` takes ``sample_weight``; the card says what was used).
    Networks only: ``epochs``, ``batch_size``, ``learning_rate`` (None: the model's
    defaults, the study's for its networks), ``loss`` with ``focal_alpha`` and
    ``focal_gamma``, ``validation_fraction`` of the training speakers held out for early
    stopping, and ``stop_on`` (``"test"``: the study as written, random split only).
    """

    params: dict = field(default_factory=dict)
    balance: bool = True
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    loss: str = "crossentropy"
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    validation_fraction: float = 0.15
    stop_on: str = "validation"

    def __post_init__(self):
        self.params = dict(self.params or {})
        if self.stop_on not in STOP_ON:
            raise InputError(f"stop_on is {self.stop_on!r}; expected one of {', '.join(STOP_ON)}")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise InputError(f"{name} must be >= 1, got {value}")


#: Where each key of the flat config of earlier releases lives today (group, name).
FLAT_KEYS = {
    "features": ("data", "features"), "preprocess": ("data", "preprocess"), "augment": ("data", "augment"),
    "label_map": ("data", "label_map"),
    "protocol": ("protocol", "name"), "extra_protocols": ("protocol", "also"), "n_folds": ("protocol", "n_folds"),
    "test_actors": ("protocol", "test_speakers"), "test_size": ("protocol", "test_size"),
    "test_data": ("protocol", "test_data"), "leakage": ("protocol", "leakage"),
    "model_params": ("fit", "params"), "epochs": ("fit", "epochs"), "batch_size": ("fit", "batch_size"),
    "learning_rate": ("fit", "learning_rate"), "loss": ("fit", "loss"), "focal_alpha": ("fit", "focal_alpha"),
    "focal_gamma": ("fit", "focal_gamma"), "validation_fraction": ("fit", "validation_fraction"),
    "stop_on": ("fit", "stop_on"),
}
_GROUPS = {"data": DataSettings, "protocol": ProtocolSettings, "fit": FitSettings}


@dataclass
class TrainConfig:
    """Everything that decides a training run: the model, its seed, and the settings of data, protocol and fit.

    The groups may be given as their dataclasses or as dicts. Settings left as None take
    the model's defaults (:data:`ser_core.models.registry.MODEL_DEFAULTS`); the model's
    own preprocessing comes under ``data.preprocess``. The shipped model is fitted once,
    on every clip, whatever the protocol.
    """

    model: str = "cnn"
    data: DataSettings = field(default_factory=DataSettings)
    protocol: ProtocolSettings = field(default_factory=ProtocolSettings)
    fit: FitSettings = field(default_factory=FitSettings)
    seed: int = 42

    def __post_init__(self):
        from ser_core.models.registry import MODEL_DEFAULTS, MODEL_NAMES

        if self.model not in MODEL_NAMES:
            raise InputError(f"unknown model {self.model!r}; expected one of {', '.join(MODEL_NAMES)}")
        for name, kind in _GROUPS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, _group_from_dict(kind, value, where=name))
            elif not isinstance(value, kind):
                raise InputError(f"{name} must be a {kind.__name__} or a dict; received {type(value).__name__}")
        defaults = MODEL_DEFAULTS[self.model]
        if self.data.features is None:
            self.data.features = defaults.get("features")
        self.data.preprocess = {**defaults["preprocess"], **self.data.preprocess}
        self.preprocess_settings()  # raises InputError for unknown or bad fields
        for name, fallback in (("epochs", 1), ("batch_size", 1), ("learning_rate", 1e-3)):
            if getattr(self.fit, name) is None:
                setattr(self.fit, name, defaults.get(name, fallback))
        if self.fit.stop_on == "test" and self.protocol.names != ("random",):
            raise InputError("stop_on='test' (the study as written) applies to the random protocol alone")

    def preprocess_settings(self, *, sample_rate=16000):
        """The :class:`~ser_core.audio.preprocess.PreprocessSettings` of this run's clips."""
        from ser_core.audio.preprocess import PreprocessSettings

        return PreprocessSettings.from_dict({"remove_dc": True, **self.data.preprocess, "sample_rate": sample_rate})

    def split_spec(self, protocol: str | None = None):
        """The :class:`~ser_core.data.splits.SplitSpec` of one of the run's protocols (default: the main one)."""
        return self.protocol.spec(protocol, seed=self.seed)

    def to_dict(self):
        """Return the settings as a JSON-ready dict, nested like the config."""
        data = asdict(self)
        for group in _GROUPS:
            for key, value in data[group].items():
                if isinstance(value, tuple):
                    data[group][key] = list(value)
        return data

    @classmethod
    def from_dict(cls, data):
        """Rebuild a config from :meth:`to_dict` output or the flat form of earlier releases (unknown keys are an error)."""
        if not isinstance(data, dict):
            raise InputError(f"training settings must be an object; received {type(data).__name__}")
        if _is_flat(data):
            data = _nested(data)
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown training settings {unknown}; expected keys among "
                             f"{sorted(f.name for f in fields(cls))}")
        return cls(**data)

    def make_estimator(self):
        """Return an unfitted estimator with this run's settings."""
        from ser_core.models.registry import make_model, model_family

        params = dict(self.fit.params)
        params["seed"] = self.seed
        family = model_family(self.model)
        if family == "keras":
            params.update(loss=self.fit.loss, focal_alpha=self.fit.focal_alpha, focal_gamma=self.fit.focal_gamma)
        if family in ("keras", "torch"):
            params.update(epochs=self.fit.epochs, batch_size=self.fit.batch_size, learning_rate=self.fit.learning_rate)
        return make_model(self.model, **params)

    def protocol_name(self, protocol=None):
        """The name results are filed under (``random_as_written`` for the study's test-set stopping)."""
        protocol = protocol or self.protocol.name
        return "random_as_written" if protocol == "random" and self.fit.stop_on == "test" else protocol


def _group_from_dict(kind, values: dict, *, where: str):
    """One settings group from a dict; unknown keys are an error naming the group."""
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"unknown {where} settings {unknown}; expected keys among {sorted(known)}")
    return kind(**values)


def _is_flat(data: dict) -> bool:
    """True for the flat config of earlier releases (``"protocol": "kfold"``, ``"n_folds": 5``, ...)."""
    return isinstance(data.get("protocol"), str) or any(key in FLAT_KEYS and key != "protocol" for key in data)


def _nested(flat: dict) -> dict:
    """The flat form of earlier releases as today's nested one (keys it does not know stay, to be refused)."""
    nested = {"data": {}, "protocol": {}, "fit": {}}
    for key, value in flat.items():
        if key in FLAT_KEYS:
            group, name = FLAT_KEYS[key]
            nested[group][name] = value
        else:
            nested[key] = value
    return nested
