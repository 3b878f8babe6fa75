"""The one format of a model's figures (``metrics.json``): written by training, read by everyone.

``ModelMetrics`` holds one :class:`ProtocolResult` per protocol the model was evaluated
with, plus its cost figures. Training writes it (:func:`ser_core.training.train.save_result`); the
CLI, the dashboard, the model card and the stakeholder report read it through
:meth:`ModelMetrics.from_dict`, which also reads the format of earlier releases.

Examples
--------
>>> metrics = ModelMetrics.from_dict({"protocols": {}})
>>> metrics.version, metrics.headline
(2, None)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ser_core.errors import InputError
from ser_core.scoring.metrics import pool_fold_confusions
from ser_core.data.protocols import (CROSS_CORPUS, SPEAKER_INDEPENDENT, protocol_explanation, protocol_rank,
                                     protocol_title)

METRICS_VERSION = 2


@dataclass
class ProtocolResult:
    """A model's results under one protocol.

    ``folds`` are :func:`ser_core.scoring.metrics.evaluate_predictions` dicts with training facts
    (one for single-split protocols); ``summary`` their mean and spread; ``pooled`` the
    evaluation of every fold's test clips together (one confusion matrix); ``settings``
    what identifies the protocol (``n_folds``, ``test_speakers``, ``seed``, ``corpus``,
    ``corpora``, ``shared_labels``, ...); ``calibration`` the ECE figures of
    :func:`ser_core.scoring.temperature.calibration_report`. Under leave-one-corpus-out
    (``loco``) each fold is one corpus left out (``test_corpus``), so the summary's mean
    is the mean over corpora (:attr:`per_corpus`).
    """

    protocol: str
    folds: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    pooled: dict | None = None
    settings: dict = field(default_factory=dict)
    calibration: dict | None = None
    histories: list = field(default_factory=list)
    time_s: float | None = None

    @property
    def title(self) -> str:
        """Plain name of the protocol, e.g. ``new speakers (5-fold by speaker)``."""
        return protocol_title(self.protocol, n_folds=self.settings.get("n_folds"),
                              test_speakers=self.settings.get("test_speakers"), corpus=self.settings.get("corpus"),
                              shared_labels=self.settings.get("shared_labels"), corpora=self.settings.get("corpora"))

    @property
    def explanation(self) -> str:
        """What the protocol measures, in a sentence or two."""
        return protocol_explanation(self.protocol, n_folds=self.settings.get("n_folds"),
                                    test_speakers=self.settings.get("test_speakers"),
                                    corpus=self.settings.get("corpus"), shared_labels=self.settings.get("shared_labels"),
                                    left_out=self.settings.get("left_out"), corpora=self.settings.get("corpora"))

    @property
    def per_corpus(self) -> list[dict]:
        """One row per corpus left out (``loco``): corpus, clips scored, shared labels, clips left out, figures.

        Empty for protocols that do not leave corpora out.
        """
        keys = ("n_test_clips", "accuracy", "uar", "macro_f1", "shared_labels", "n_left_out", "train_accuracy")
        return [{"corpus": fold["test_corpus"], **{key: fold.get(key) for key in keys}}
                for fold in self.folds if fold.get("test_corpus") is not None]

    @property
    def cross_corpus(self) -> bool:
        """True when the test clips came from another corpus (never averaged with within-corpus figures)."""
        return self.protocol in CROSS_CORPUS

    @property
    def speaker_independent(self) -> bool:
        """True when the test speakers were never heard in training."""
        return self.protocol in SPEAKER_INDEPENDENT

    def mean(self, key: str) -> float | None:
        """The mean of one summary metric over the folds (None when absent)."""
        value = self.summary.get(key)
        return None if value is None else value.get("mean")

    def std(self, key: str) -> float | None:
        """The spread (population std) of one summary metric over the folds; None with one fold."""
        value = self.summary.get(key)
        return None if value is None or value.get("n", 1) < 2 else value.get("std")

    def evaluation(self) -> dict | None:
        """Per-class report and confusion matrix over every test clip (folds pooled)."""
        if self.pooled is not None:
            return self.pooled
        return pool_fold_confusions(self.folds)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, protocol: str, data: dict) -> "ProtocolResult":
        """Read one protocol block (this release's or an earlier one's)."""
        if not isinstance(data, dict):
            raise InputError(f"protocol {protocol!r}: expected an object, got {type(data).__name__}")
        settings = _renamed(dict(data.get("settings") or {}))
        folds = [_renamed(dict(fold)) for fold in data.get("folds") or []]
        if "n_folds" not in settings and protocol.startswith("kfold"):
            settings["n_folds"] = len(folds) or None
        if "test_speakers" not in settings and protocol == "holdout" and folds:
            settings["test_speakers"] = folds[0].get("test_speakers")
        return cls(
            protocol=str(data.get("protocol", protocol)),
            folds=folds,
            summary=dict(data.get("summary") or {}),
            pooled=data.get("pooled"),
            settings=settings,
            calibration=data.get("calibration"),
            histories=list(data.get("histories") or []),
            time_s=data.get("time_s"),
        )


#: Names earlier releases wrote in ``metrics.json`` and the names read today.
RENAMED_KEYS = {"test_actors": "test_speakers", "n_actors": "n_speakers"}


def _renamed(block: dict) -> dict:
    """A settings or fold dict with earlier releases' names read as today's (the file is never rewritten)."""
    for old, new in RENAMED_KEYS.items():
        if old in block and new not in block:
            block[new] = block.pop(old)
    return block


@dataclass
class ModelMetrics:
    """Everything measured about one model folder."""

    protocols: dict = field(default_factory=dict)
    n_parameters: int | None = None
    size_bytes: int | None = None
    latency_ms_per_3s_clip: float | None = None
    training_time_s: float | None = None
    version: int = METRICS_VERSION

    @property
    def headline(self) -> ProtocolResult | None:
        """The protocol a model is judged by on its own corpus: new speakers first, the random split last.

        None when the model has no within-corpus figure (cross-corpus figures answer another question).
        """
        within = [result for result in self.protocols.values() if not result.cross_corpus]
        if not within:
            return None
        return min(within, key=lambda result: protocol_rank(result.protocol))

    def ordered(self) -> list[ProtocolResult]:
        """Every protocol result in display order."""
        return sorted(self.protocols.values(), key=lambda result: protocol_rank(result.protocol))

    def to_dict(self) -> dict:
        """JSON-ready dict (the content of ``metrics.json``)."""
        data = asdict(self)
        data["protocols"] = {name: result.to_dict() for name, result in self.protocols.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ModelMetrics":
        """Read ``metrics.json`` content, from this release (version 2) or the first one (no version)."""
        if not isinstance(data, dict):
            raise InputError(f"metrics must be a JSON object, got {type(data).__name__}")
        version = data.get("version", 1)
        if not isinstance(version, int) or version > METRICS_VERSION:
            raise InputError(f"metrics version {version!r} is newer than this ser_core reads ({METRICS_VERSION})")
        protocols = data.get("protocols", {})
        if protocols is None:
            protocols = {}
        if not isinstance(protocols, dict):
            raise InputError("metrics 'protocols' must be an object")
        return cls(
            protocols={name: ProtocolResult.from_dict(name, block) for name, block in protocols.items()},
            n_parameters=data.get("n_parameters"),
            size_bytes=data.get("size_bytes"),
            latency_ms_per_3s_clip=data.get("latency_ms_per_3s_clip"),
            training_time_s=data.get("training_time_s"),
        )
