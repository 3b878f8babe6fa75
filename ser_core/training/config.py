"""What decides a training run: :class:`TrainConfig`, checked when it is made.

A config is plain data: it round-trips through JSON (:meth:`TrainConfig.to_dict`, stored
with every model folder and every dashboard job) and makes the unfitted estimator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ser_core.data.protocols import TRAINING_PROTOCOLS
from ser_core.errors import InputError

#: Early stopping watches a validation part of the training clips, or (the study, as written) the test clips.
STOP_ON = ("validation", "test")


@dataclass
class TrainConfig:
    """Everything that decides a training run.

    Settings left as None take the model's defaults
    (:data:`ser_core.models.registry.MODEL_DEFAULTS`: the study's for its networks).
    ``preprocess`` overrides :class:`~ser_core.audio.preprocess.PreprocessSettings` fields on top of
    the model's own (e.g. ``{"top_db": 30.0}``). ``extra_protocols`` are scored after the
    main one (e.g. ``("random",)`` to compare with the study); the shipped model is fitted
    once, on every clip. ``test_data`` is the corpus the ``cross_corpus`` protocol tests
    on; ``label_map`` renames labels of corpora given as paths (both sides);
    ``leakage`` is ``"warn"``, ``"stop"`` (a leak raises :class:`ser_core.data.leakage.LeakageError`)
    or ``"off"``.
    """

    model: str = "cnn"
    features: str | None = None
    protocol: str = "random"
    n_folds: int = 5
    test_actors: tuple = ()
    test_size: float = 0.2
    loss: str = "crossentropy"
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int = 42
    validation_fraction: float = 0.15
    stop_on: str = "validation"
    model_params: dict = field(default_factory=dict)
    augment: tuple = ()
    preprocess: dict = field(default_factory=dict)
    extra_protocols: tuple = ()
    test_data: str = ""
    label_map: dict = field(default_factory=dict)
    leakage: str = "warn"

    def __post_init__(self):
        from ser_core.audio.augment import parse_augmentation
        from ser_core.models.registry import MODEL_DEFAULTS, MODEL_NAMES

        if self.model not in MODEL_NAMES:
            raise InputError(f"unknown model {self.model!r}; expected one of {', '.join(MODEL_NAMES)}")
        defaults = MODEL_DEFAULTS[self.model]
        for name, fallback in (("features", None), ("epochs", 1), ("batch_size", 1), ("learning_rate", 1e-3)):
            if getattr(self, name) is None:
                setattr(self, name, defaults.get(name, fallback))
        self.preprocess = {**defaults["preprocess"], **dict(self.preprocess)}
        self.preprocess_settings()  # raises InputError for unknown or bad fields
        self.extra_protocols = tuple(self.extra_protocols)
        for protocol in (self.protocol, *self.extra_protocols):
            if protocol not in TRAINING_PROTOCOLS:
                raise InputError(f"unknown protocol {protocol!r}; expected one of {', '.join(TRAINING_PROTOCOLS)}")
        if "holdout" in (self.protocol, *self.extra_protocols) and not self.test_actors:
            raise InputError("the holdout protocol needs test_actors (e.g. (1, 2))")
        self.test_data = str(self.test_data or "")
        if "cross_corpus" in (self.protocol, *self.extra_protocols) and not self.test_data:
            raise InputError("the cross_corpus protocol needs test_data: the corpus to test on (folder, zip or manifest)")
        from ser_core.data.layouts import normalize_label_map
        from ser_core.data.leakage import LEAKAGE_MODES

        self.label_map = normalize_label_map(dict(self.label_map or {}))
        if self.leakage not in LEAKAGE_MODES:
            raise InputError(f"leakage is {self.leakage!r}; expected one of {', '.join(LEAKAGE_MODES)}")
        if self.stop_on not in STOP_ON:
            raise InputError(f"stop_on is {self.stop_on!r}; expected one of {', '.join(STOP_ON)}")
        if self.stop_on == "test" and (self.protocol != "random" or self.extra_protocols):
            raise InputError("stop_on='test' (the study as written) applies to the random protocol alone")
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise InputError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        if int(self.n_folds) < 2:
            raise InputError(f"n_folds must be at least 2, got {self.n_folds}")
        self.test_actors = tuple(str(actor) for actor in self.test_actors)
        if isinstance(self.augment, str):
            raise InputError(f"augment must be a sequence of keys such as ('speed0.9', 'speed1.1'); received {self.augment!r}")
        self.augment = tuple(parse_augmentation(key).key for key in self.augment)
        if len(set(self.augment)) != len(self.augment):
            raise InputError(f"augmentations repeat in {self.augment}; name each once")

    def preprocess_settings(self, *, sample_rate=16000):
        """The :class:`~ser_core.audio.preprocess.PreprocessSettings` of this run's clips."""
        from ser_core.audio.preprocess import PreprocessSettings

        return PreprocessSettings.from_dict({"remove_dc": True, **self.preprocess, "sample_rate": sample_rate})

    def to_dict(self):
        """Return the settings as a JSON-ready dict."""
        data = asdict(self)
        for key in ("test_actors", "augment", "extra_protocols"):
            data[key] = list(getattr(self, key))
        return data

    @classmethod
    def from_dict(cls, data):
        """Rebuild a config from :meth:`to_dict` output (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown training settings {unknown}; expected keys among {sorted(known)}")
        return cls(**data)

    def make_estimator(self):
        """Return an unfitted estimator with this run's settings."""
        from ser_core.models.registry import make_model, model_family

        params = dict(self.model_params)
        params["seed"] = self.seed
        family = model_family(self.model)
        if family == "keras":
            params.update(loss=self.loss, focal_alpha=self.focal_alpha, focal_gamma=self.focal_gamma)
        if family in ("keras", "torch"):
            params.update(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate)
        return make_model(self.model, **params)

    def protocol_name(self, protocol=None):
        """The name results are filed under (``random_as_written`` for the study's test-set stopping)."""
        protocol = protocol or self.protocol
        return "random_as_written" if protocol == "random" and self.stop_on == "test" else protocol
