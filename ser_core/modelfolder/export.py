"""The ONNX export of a model folder: made when it is saved, checked on real clips, recorded.

:func:`export_checked` writes ``model.onnx`` beside a network's native weights
(:mod:`ser_core.models.onnx_export`) after comparing the two on clips of the training
corpus; the largest absolute probability difference must be at most
:data:`~ser_core.models.onnx_export.TOLERANCE` (1e-4), and it goes into ``config.json``
(``onnx``) and the model card. A graph that fails its check is not written, and the
folder keeps serving its native network (in a child process). :func:`add_export` does the
same for a folder saved before exports existed, without retraining.

Examples
--------
>>> add_export("artifacts/study-cnn")["max_abs_probability_difference"]  # doctest: +SKIP
7.45e-08
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ser_core import atomic
from ser_core.errors import SERError
from ser_core.modelfolder.read import (CARD_FILE, CONFIG_FILE, MEMBERS_FOLDER, METRICS_FILE, PREDICTIONS_FILE,
                                       check_files, file_sha256, read_config, read_metrics)
from ser_core.models.onnx_export import ONNX_FILE, OPSET, TOLERANCE

#: Clips of the training corpus an export is checked on (spread over the sorted test clips).
CHECK_CLIPS = 16


def check_clips(predictions, *, data=None, limit=CHECK_CLIPS) -> list[Path]:
    """Up to ``limit`` readable clips from out-of-fold predictions (``{protocol: {"paths": ...}}``).

    Relative paths are taken from ``data``, the training corpus folder.
    """
    paths = set()
    for block in (predictions or {}).values():
        paths.update(str(path) for path in block.get("paths", []))
    chosen = sorted(paths)
    if len(chosen) > limit:
        chosen = [chosen[int(i)] for i in np.linspace(0, len(chosen) - 1, limit)]
    root = Path(data) if data else None
    clips = [Path(path) if Path(path).is_absolute() or root is None else root / path for path in chosen]
    return [clip for clip in clips if clip.is_file()]


def _voiced_clips(*, sample_rate, n=8, duration_s=2.0):
    """Synthetic voiced clips (harmonics of a wavering pitch, syllable-like envelope), for when no real clip is at hand."""
    rng = np.random.default_rng(0)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    for pitch_hz in np.linspace(110, 260, n):
        f0 = pitch_hz * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
        yield (0.3 * voiced + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


def _check_features(clips, *, spec, preprocess):
    """Features of the clips that decode (those that do not are skipped), and what they are.

    Without any readable clip, synthetic voiced clips stand in, and the record says so.
    """
    from ser_core.audio.preprocess import load_clip, preprocess_with
    from ser_core.features import extract

    rows = []
    for clip in clips:
        try:
            rows.append(extract(load_clip(clip, settings=preprocess), spec=spec, sample_rate=preprocess.sample_rate))
        except (SERError, OSError):
            continue
    if rows:
        return np.stack(rows), f"{len(rows)} clips of the training corpus"
    for y in _voiced_clips(sample_rate=preprocess.sample_rate):
        rows.append(extract(preprocess_with(y, settings=preprocess), spec=spec, sample_rate=preprocess.sample_rate))
    return np.stack(rows), f"{len(rows)} synthetic voiced clips (no clip of the training corpus could be read)"


def _package_versions() -> dict:
    import importlib.metadata as metadata

    versions = {}
    for name in ("onnx", "onnxruntime"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def export_checked(estimator, folder, *, spec, preprocess, clips) -> dict | None:
    """Write ``folder/model.onnx`` for a fitted network if it agrees with it on ``clips``; return the record.

    Returns None for a family without an export; otherwise the ``onnx`` block of
    ``config.json``: the file, opset, largest absolute probability difference, the
    tolerance, what it was checked on and the package versions, or ``exported: false``
    with the reason (onnx not installed, an unsupported layer, a difference over the
    tolerance). ``clips`` are real clips of the training corpus; when none can be read,
    synthetic voiced clips stand in and ``checked_on`` says so.
    """
    import importlib.util

    from ser_core.models.onnx_export import exportable, export_estimator, graph_bytes, max_probability_difference

    if not exportable(estimator):
        return None
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        return {"exported": False, "reason": "onnx and onnxruntime are not both installed"}
    X, checked_on = _check_features(clips, spec=spec, preprocess=preprocess)
    try:
        graph = export_estimator(estimator)
        difference = max_probability_difference(estimator, graph, X)
    except SERError as error:
        return {"exported": False, "reason": str(error)}
    record = {"max_abs_probability_difference": float(f"{difference:.3g}"), "tolerance": TOLERANCE,
              "checked_on": checked_on, "n_clips": int(len(X)),
              "versions": _package_versions()}
    if not difference <= TOLERANCE:
        return {"exported": False, "reason": f"the graph's probabilities differ by up to {difference:.3g} from the "
                                             f"native network's (tolerance {TOLERANCE:g})", **record}
    atomic.write_bytes(Path(folder) / ONNX_FILE, graph_bytes(graph))
    return {"exported": True, "file": ONNX_FILE, "opset": OPSET, **record}


def _saved_predictions(folder: Path) -> dict:
    """``{protocol: {"paths": ...}}`` from a folder's ``predictions.npz`` (empty when it has none)."""
    path = folder / PREDICTIONS_FILE
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as arrays:
        return {name.split("/")[0]: {"paths": arrays[name].tolist()} for name in arrays.files if name.endswith("/paths")}


def _digests(folder: Path) -> dict:
    """SHA-256 of every file a config lists: all but the folder's own config, metrics and card."""
    own = {CONFIG_FILE, METRICS_FILE, CARD_FILE}
    return {path.relative_to(folder).as_posix(): file_sha256(path) for path in sorted(folder.rglob("*"))
            if path.is_file() and path.relative_to(folder).as_posix() not in own}


def _rewrite(folder: Path, config: dict) -> None:
    from ser_core.modelfolder.card import model_card
    from ser_core.modelfolder.reliability import folder_reliability

    config["files"] = _digests(folder)
    atomic.write_json(folder / CONFIG_FILE, config, default=atomic.json_default)
    metrics = read_metrics(folder)
    atomic.write_text(folder / CARD_FILE, model_card(config, metrics,
                                                 reliability=folder_reliability(folder, metrics=metrics)))


def add_export(folder, *, clips=None) -> dict | None:
    """Export a saved folder's network to ONNX (an ensemble's members too), check it, record it; no retraining.

    ``clips`` default to the folder's own out-of-fold test clips. The native network is
    loaded in this process, so run it where that network's framework may load. Returns
    the folder's ``onnx`` record (None for a family without an export; for an ensemble,
    ``{member: record}``).
    """
    from ser_core.audio.preprocess import PreprocessSettings
    from ser_core.features import parse_kind
    from ser_core.models.registry import load_estimator

    folder = Path(folder)
    config = read_config(folder)
    check_files(folder, config)
    if config["model"] == "ensemble":
        records = {entry["name"]: add_export(folder / MEMBERS_FOLDER / entry["name"], clips=clips)
                   for entry in config.get("members") or []}
        _rewrite(folder, config)
        return records
    settings = config.get("model_settings") if config["model"] == "wav2vec2_rf" else None
    estimator = load_estimator(config["model"], folder, settings=settings)
    if clips is None:
        clips = check_clips(_saved_predictions(folder), data=(config.get("training") or {}).get("data"))
    (folder / ONNX_FILE).unlink(missing_ok=True)
    record = export_checked(estimator, folder, spec=parse_kind(config["features"]["kind"]),
                            preprocess=PreprocessSettings.from_dict(config["preprocess"]), clips=clips)
    if record is None:
        return None
    config["onnx"] = record
    _rewrite(folder, config)
    return record

