"""Reproduce the study: its four systems, as it ran them and cleanly, then write ``results/study.md``.

Per Keras system (LSTM, CNN, CNN+LSTM on the 160-value ``MFCC-16000-40`` vector):

* **as written**: the study's random 80/20 split with early stopping watching the *test*
  clips and the study's 30-epoch cap. The test set chose the epoch, so the figure is
  optimistic; it is kept because it is what the study reported.
* **clean**: the same split with early stopping on a validation part of the training
  clips, trained to convergence (no epoch cap short of ``max_epochs``), and
  speaker-independent 5-fold by actor.

Wav2Vec2 (last layer, as in the study) + random forest runs when the model can be
loaded (``wav2vec2=PATH`` for a local copy). With ``ship=True`` the converged Keras
models, fitted on every clip, are saved as ``artifacts/study-<model>``.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ser_core.errors import SERError
from ser_core.formatting import MISSING, percent, percent_spread
from ser_core.reporting.study_figures import STUDY_RESULTS, SYSTEM_TITLES

#: The study's clip vector (MFCC, Δ, ΔΔ and mel dB time means at 16 kHz, 160 values).
STUDY_FEATURES = "MFCC-16000-40"
#: Wav2Vec2 features as the study used them: the last hidden state, time-averaged.
STUDY_W2V2_FEATURES = "W2V2-mean-last"
#: The study's Keras systems by registry name.
KERAS_SYSTEMS = ("lstm", "cnn", "cnn_lstm")

#: Cheapest first, so a run cut short still has finished rows (the LSTM over 160 steps is the slowest).
RUN_ORDER = ("cnn", "cnn_lstm", "lstm")
#: The study's loss (SPEC: focal loss, alpha 0.25, gamma 2) and epoch cap.
STUDY_LOSS = "focal"
STUDY_EPOCHS = 30
#: "Trained to convergence": early stopping (patience 10) ends training long before this.
CONVERGENCE_EPOCHS = 300


def _configs(model, *, features, quick, seed, loss):
    """The as-written and the clean training configs of one system."""
    from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig

    as_written = TrainConfig(model=model, data=DataSettings(features=features), protocol=ProtocolSettings("random"),
                             fit=FitSettings(stop_on="test", loss=loss, epochs=2 if quick else STUDY_EPOCHS), seed=seed)
    clean = TrainConfig(model=model, data=DataSettings(features=features),
                        protocol=ProtocolSettings("kfold", also=("random",), n_folds=2 if quick else 5),
                        fit=FitSettings(loss=loss, epochs=2 if quick else CONVERGENCE_EPOCHS), seed=seed)
    return as_written, clean


def _epoch_logger(log, model):
    """A progress callback that logs one line per epoch and per finished fold."""
    def report(record):
        if record.get("stage") == "fold done":
            log(f"  {model} {record['protocol']} fold {record['fold']}/{record['n_folds']}: "
                f"test accuracy {record['test_accuracy']:.4f}, UAR {record['test_uar']:.4f}")
        elif "loss" in record and record.get("epoch", 0) % 10 == 0:
            log(f"  {model} {record['protocol']} fold {record['fold']} epoch {record['epoch']}: "
                f"loss {record['loss']:.4f} acc {record['accuracy']:.4f}")
    return report


def _run_system(model, dataset, *, features, quick, seed, loss, ship, root, log):
    """Both rows of one system (and its shipped model); return ``{protocol: ProtocolResult}``."""
    from ser_core.training.train import run_protocol, save_result, train

    as_written, clean = _configs(model, features=features, quick=quick, seed=seed, loss=loss)
    start = time.perf_counter()
    written = run_protocol(as_written, dataset, progress=_epoch_logger(log, model))
    result = train(clean, data=dataset, progress=_epoch_logger(log, model))
    for name, (protocol_result, predictions) in written.items():
        result.metrics.protocols[name] = protocol_result
        result.predictions[name] = predictions
    for name, protocol_result in result.metrics.protocols.items():
        log(f"{model} {protocol_result.title}: accuracy {percent(protocol_result.mean('accuracy'))}, "
            f"UAR {percent(protocol_result.mean('uar'))}")
    log(f"{model}: {time.perf_counter() - start:.0f} s")
    if ship:
        folder = save_result(result, Path(root) / f"study-{model.replace('_', '-')}",
                             description=f"the study's {SYSTEM_TITLES[model]} ({loss} loss, trained to convergence)")
        log(f"saved {folder}")
    return result.metrics.protocols


def _wav2vec2_rows(data, *, wav2vec2, quick, seed, log):
    """Wav2Vec2 + RF when the model can be loaded; else None and the reason."""
    from ser_core.data.dataset import load_dataset
    from ser_core.features.wav2vec2 import DEFAULT_MODEL, load_wav2vec2
    from ser_core.training.config import ProtocolSettings, TrainConfig
    from ser_core.training.train import run_protocol

    kind = STUDY_W2V2_FEATURES if wav2vec2 is None else f"{STUDY_W2V2_FEATURES}:{wav2vec2}"
    try:
        load_wav2vec2(wav2vec2 or DEFAULT_MODEL)  # fail once, early, rather than once per clip
        dataset = load_dataset(data, feature_kind=kind)
    except SERError as error:
        log(f"wav2vec2_rf not run: {error}")
        return None, f"{type(error).__name__}: {error}"
    rows = {}
    for protocol in ("random", "kfold"):
        config = TrainConfig(model="wav2vec2_rf", data={"features": kind}, seed=seed,
                             protocol=ProtocolSettings(protocol, n_folds=2 if quick else 5))
        rows.update({name: result for name, (result, _) in run_protocol(config, dataset).items()})
    return rows, None


def reproduce_study(data, *, out="results/study.md", quick=False, ship=False, artifacts_root=None,
                    wav2vec2=None, seed=42, loss=STUDY_LOSS, command=None, log=print):
    """Train and evaluate the study's four systems, as written and cleanly, and write the results page.

    Parameters
    ----------
    data : path
        The corpus folder (RAVDESS).
    out : path
        Markdown file to write (after every system, so a run cut short keeps its rows).
    quick : bool
        2 epochs and 2 folds: a smoke test, not a reproduction.
    ship : bool
        Also save the converged Keras models under ``artifacts_root`` (default: the artifacts folder).
    wav2vec2 : str, optional
        A local Wav2Vec2 model folder (default: the hub's facebook/wav2vec2-base).
    loss : {"focal", "crossentropy"}
        Training loss of the Keras systems (the study's: focal).

    Returns
    -------
    dict
        ``{system: {protocol: ProtocolResult}}``, and ``not_run`` with reasons.
    """
    from ser_core.data.dataset import load_dataset
    from ser_core.modelfolder.read import artifacts_root as default_root

    start = time.perf_counter()
    dataset = load_dataset(data, feature_kind=STUDY_FEATURES)
    log(f"{len(dataset.labels)} clips, {len(np.unique(dataset.speakers))} actors, {STUDY_FEATURES} {dataset.X.shape[1:]}")
    results, not_run = {}, {model: "not finished (the run was cut short)" for model in KERAS_SYSTEMS}

    def write():
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(study_markdown(results, not_run, dataset=dataset, elapsed_s=time.perf_counter() - start,
                                                command=command, quick=quick, loss=loss))

    w2v2, reason = _wav2vec2_rows(data, wav2vec2=wav2vec2, quick=quick, seed=seed, log=log)
    if w2v2 is None:
        not_run["wav2vec2_rf"] = reason
    else:
        results["wav2vec2_rf"] = w2v2
    for model in RUN_ORDER:
        results[model] = _run_system(model, dataset, features=STUDY_FEATURES, quick=quick, seed=seed, loss=loss,
                                     ship=ship, root=artifacts_root or default_root(), log=log)
        del not_run[model]
        write()
    write()
    log(f"wrote {out}")
    return {**results, "not_run": not_run}


def _machine():
    """Describe the machine the numbers come from."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    return f"{platform.processor() or platform.machine()}, {cpus} CPU cores available, {platform.system()} {platform.release()}"


_ROWS = (("random_as_written", "as written: random split, stopped on the test set (optimistic)"),
         ("random", "clean: random split, stopped on training clips, to convergence"),
         ("kfold", "clean: new speakers (5-fold by actor)"))


_SHORT = {"random_as_written": "as written", "random": "clean random split", "kfold": "new speakers"}


def _row(title, label, result, study_cell):
    epochs = [fold.get("epochs_run") for fold in result.folds if fold.get("epochs_run")]
    return (f"| {title} | {label} | {percent_spread(result.mean('train_accuracy'), result.std('train_accuracy'))} "
            f"| {percent_spread(result.mean('accuracy'), result.std('accuracy'))} "
            f"| {percent_spread(result.mean('uar'), result.std('uar'))} | {result.mean('macro_f1') or 0:.2f} "
            f"| {'/'.join(map(str, epochs)) or MISSING} | {study_cell} |")


def study_markdown(results, not_run, *, dataset, elapsed_s, command=None, quick=False, loss=STUDY_LOSS):
    """Return the results page: both rows per system beside the study's figures, and best/worst emotions."""
    import importlib.metadata as metadata

    command = command or "python -m " + " ".join(shlex.quote(a) for a in ["ser_core", *sys.argv[1:]])
    try:
        tf_version = metadata.version("tensorflow-cpu")
    except metadata.PackageNotFoundError:
        tf_version = "?"
    lines = [
        "# Reproducing the study",
        "",
        f"Command: `{command}`  ",
        f"Run: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, {elapsed_s / 60:.1f} min of wall time on "
        f"{_machine()} (TensorFlow {tf_version}, CPU only).  ",
        f"Data: {len(dataset.labels)} RAVDESS speech clips of {len(np.unique(dataset.speakers))} actors "
        f"({dataset.source or 'index'}), features `{STUDY_FEATURES}` (160 values per clip); {loss} loss, Adam 1e-3, "
        "batch 36, early stopping (patience 10, best weights restored), ReduceLROnPlateau (0.5, 5, 1e-6).",
    ]
    if quick:
        lines += ["", "**Quick mode (2 epochs, 2 folds): a smoke test, not a reproduction.**"]
    lines += ["", "| system | protocol | train acc | test acc | UAR | macro F1 | epochs run | study test acc (F1) |",
              "|---|---|---|---|---|---|---|---|"]
    for model in (*KERAS_SYSTEMS, "wav2vec2_rf"):
        study = STUDY_RESULTS[model]
        study_cell = f"{percent(study['accuracy'], decimals=2)} ({study['macro_f1']:.2f})"
        if model in not_run:
            lines.append(f"| {SYSTEM_TITLES[model]} | not run: {not_run[model].split('. ')[0].replace('|', '/')} "
                         f"| | | | | | {study_cell} |")
            continue
        for protocol, label in _ROWS:
            if protocol in results[model]:
                lines.append(_row(SYSTEM_TITLES[model], label, results[model][protocol],
                                  study_cell if protocol.startswith("random") else ""))
    lines += ["", "Best and worst recognised emotion (by recall, all test clips of the protocol):", ""]
    for model in (m for m in (*KERAS_SYSTEMS, "wav2vec2_rf") if m in results):
        parts = []
        for protocol, label in _ROWS:
            evaluation = results[model][protocol].evaluation() if protocol in results[model] else None
            if evaluation:
                parts.append(f"{_SHORT[protocol]}: best {evaluation['best_emotion']}, worst {evaluation['worst_emotion']}")
        lines.append(f"- {SYSTEM_TITLES[model]}: " + "; ".join(parts))
    lines += ["", "The ablation behind these settings, and why the study's CNN+LSTM figure is or is not reached, "
              "is in `results/study_ablation.md`.", ""]
    return "\n".join(lines)
