"""The shipped default model, as a recipe: its members, how they are trained, and how they are combined.

``python -m ser_core build-default`` runs :func:`build_default`: it trains (or reuses, when
an up-to-date folder exists) each member under speaker-independent 5-fold by actor
(``grouped_kfold(seed=42)``) plus a final fit on every clip, saves each member as its own
model folder, combines their out-of-fold predictions into the ensemble's figures
(:mod:`ser_core.training.ensemble`), saves the ensemble and makes it the default.

The recipe was fixed before its figures were computed: the members are the round-one
default (ComParE functionals + class-balanced logistic regression with twelve
speed-perturbed copies) and the log-mel CNN measured in ``../shared/SPEC.md`` on actors
held out from this project; equal weights; temperature scaling from out-of-fold
predictions. No setting was chosen on the folds that score it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ser_core.errors import ArtifactError, SERError
from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig

#: The twelve speed factors of the linear member's training copies.
SPEED_FACTORS = (0.85, 0.875, 0.9, 0.925, 0.95, 0.975, 1.025, 1.05, 1.075, 1.1, 1.125, 1.15)
ENSEMBLE_NAME = "cnn-compare-ensemble"
ENSEMBLE_DESCRIPTION = ("Ensemble of a 2-D CNN on log-mel spectrograms and ComParE_2016 functionals with a "
                        "class-balanced logistic regression; calibrated probabilities, averaged with equal weights")


@dataclass(frozen=True)
class Member:
    """One member of the default ensemble: its folder name, training recipe, weight and description."""

    name: str
    config: TrainConfig
    weight: float
    description: str


def default_members() -> tuple[Member, ...]:
    """The default ensemble's members, in order."""
    return (
        Member("compare-adaptive-lr", TrainConfig(
            model="adaptive_linear",
            data=DataSettings(features="COMPARE-16000", augment=tuple(f"speed{factor:g}" for factor in SPEED_FACTORS)),
            protocol=ProtocolSettings("kfold", also=("random",)),
            fit=FitSettings(params={"C": 0.05, "class_weight": "balanced"})), 1.0,
            "ComParE_2016 functionals -> standardised logistic regression (C=0.05, class-balanced), single-clip head "
            "also trained on twelve speed-perturbed copies (0.85-1.15); plus a speaker-adapted head"),
        Member("logmel-cnn", TrainConfig(model="logmel_cnn", protocol=ProtocolSettings("kfold")), 1.0,
               "2-D CNN on 64-band log-mel spectrograms (trimmed at 30 dB, 3 s centred), SpecAugment and time shifts, "
               "one-cycle AdamW, 40 epochs"),
    )


def read_predictions(folder) -> dict:
    """The out-of-fold predictions saved in a model folder: ``{protocol: {paths, labels, fold, probabilities, label_order}}``."""
    from ser_core.modelfolder.read import PREDICTIONS_FILE

    path = Path(folder) / PREDICTIONS_FILE
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {PREDICTIONS_FILE}: its out-of-fold predictions were not saved")
    out = {}
    root = _recorded_corpus_path(folder)
    with np.load(path, allow_pickle=False) as arrays:
        for key in arrays.files:
            protocol, field = key.split("/", 1)
            value = arrays[key]
            out.setdefault(protocol, {})[field] = value.tolist() if field in ("paths", "label_order") else value
            if field == "paths" and root is not None:  # older folders: absolute paths, made relative like today's
                out[protocol][field] = [_relative_to(item, root) for item in out[protocol][field]]
    return out


def _recorded_corpus_path(folder) -> Path | None:
    """The corpus path an older model folder recorded (today's record only its name)."""
    from ser_core.modelfolder.read import CONFIG_FILE

    try:
        data = (json.loads((Path(folder) / CONFIG_FILE).read_text()).get("training") or {}).get("data")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(data) if data and Path(data).is_absolute() else None


def _relative_to(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _up_to_date(folder: Path, config: TrainConfig) -> bool:
    """True when ``folder`` holds a model trained with exactly ``config`` and its out-of-fold predictions."""
    from ser_core.modelfolder.read import CONFIG_FILE, PREDICTIONS_FILE

    try:
        saved = json.loads((folder / CONFIG_FILE).read_text())["training"]["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    try:
        saved = TrainConfig.from_dict(saved).to_dict()  # a folder of an earlier release stored the flat form
    except SERError:
        return False
    return saved == json.loads(json.dumps(config.to_dict())) and (folder / PREDICTIONS_FILE).is_file()


def _member_folder(member: Member, *, data, root: Path, reuse: bool, log, command: str) -> Path:
    """Train and save one member, unless an up-to-date folder can be reused."""
    from ser_core.training.train import save_result, train

    folder = root / member.name
    if reuse and _up_to_date(folder, member.config):
        log(f"{member.name}: reusing {folder} (trained with this exact recipe)")
        return folder
    log(f"{member.name}: training ({member.config.model} on {member.config.data.features}, "
        f"{member.config.protocol.name})")
    start = time.perf_counter()
    result = train(member.config, data=data, progress=_logger(log, member.name))
    result.training["command"] = command
    save_result(result, folder, description=member.description)
    log(f"{member.name}: saved {folder} after {(time.perf_counter() - start) / 60:.1f} min")
    return folder


def _logger(log, name):
    def report(record):
        if record.get("stage") == "fold done":
            log(f"  {name} {record['protocol']} fold {record['fold']}/{record['n_folds']}: "
                f"accuracy {record['test_accuracy']:.4f}, UAR {record['test_uar']:.4f}")
    return report


def ensemble_figures(member_folders, weights):
    """The ensemble's protocol results, predictions and shipped temperatures from its members' folders."""
    from ser_core.modelfolder.read import read_metrics
    from ser_core.modelfolder.results import ModelMetrics

    predictions = [read_predictions(folder) for folder in member_folders]
    settings = read_metrics(member_folders[0]).protocols["kfold"].settings
    protocols, saved, calibration = {}, {}, {}
    result, saved["kfold"], temperatures = combine([p["kfold"] for p in predictions], weights, protocol="kfold",
                                                   settings=settings)
    protocols["kfold"] = result
    calibration.update(temperature=temperatures["ensemble"],
                       temperature_fitted_on=f"out-of-fold test predictions of '{result.title}'")
    if any("kfold_speaker_adapted" in p for p in predictions):
        adapted = [p.get("kfold_speaker_adapted", p["kfold"]) for p in predictions]
        result, saved["kfold_speaker_adapted"], temperatures = combine(adapted, weights,
                                                                       protocol="kfold_speaker_adapted", settings=settings)
        protocols["kfold_speaker_adapted"] = result
        calibration.update(temperature_adapted=temperatures["ensemble"],
                           temperature_adapted_fitted_on=f"out-of-fold test predictions of '{result.title}'")
    return ModelMetrics(protocols=protocols), saved, calibration


def combine(predictions, weights, *, protocol, settings):
    """:func:`ser_core.training.ensemble.combine_protocol` over one protocol of each member."""
    from ser_core.training.ensemble import combine_protocol

    return combine_protocol(list(zip(predictions, weights)), protocol=protocol, settings=settings)


def build_default(data, *, root=None, reuse=True, set_default=True, command="python -m ser_core build-default",
                  log=print) -> Path:
    """Train (or reuse) the members, save the ensemble, and make it the default; return its folder."""
    from ser_core.modelfolder.read import artifacts_root, set_default_model
    from ser_core.modelfolder.save import save_ensemble

    root = Path(root) if root is not None else artifacts_root()
    members = default_members()
    folders = [_member_folder(member, data=data, root=root, reuse=reuse, log=log, command=command) for member in members]
    weights = [member.weight for member in members]
    metrics, predictions, calibration = ensemble_figures(folders, weights)
    for name, result in metrics.protocols.items():
        log(f"ensemble {result.title}: accuracy {result.mean('accuracy'):.4f} ± {result.std('accuracy') or 0:.4f}, "
            f"UAR {result.mean('uar'):.4f} ± {result.std('uar') or 0:.4f}")
    folder = save_ensemble(root / ENSEMBLE_NAME, list(zip(folders, weights)), metrics=metrics,
                           training={"data": str(data), "command": command, "members": [m.name for m in members]},
                           predictions=predictions, calibration=calibration, description=ENSEMBLE_DESCRIPTION)
    if set_default:
        set_default_model(folder.name, root=root)
        log(f"default model: {folder.name}")
    return folder
