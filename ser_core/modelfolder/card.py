"""The model card: a short Markdown page saying what a model is, how it was tested, and its figures."""

from __future__ import annotations

from ser_core.formatting import MISSING, megabytes, number, percent, percent_spread
from ser_core.modelfolder.results import ModelMetrics


def describe_preprocessing(settings: dict) -> str:
    """Preprocessing settings in words, e.g. ``16 kHz mono, DC removed, trimmed at 20 dB, peak-normalised``."""
    parts = [f"{settings.get('sample_rate', 16000) / 1000:g} kHz mono"]
    if settings.get("remove_dc"):
        parts.append("DC removed")
    top_db = settings.get("top_db")
    parts.append(f"silence trimmed at {top_db:g} dB below the peak" if top_db else "no trimming")
    if settings.get("normalize", True):
        parts.append("peak-normalised")
    return ", ".join(parts)


def _calibration_line(config: dict, metrics: ModelMetrics) -> str | None:
    calibration = config.get("calibration") or {}
    temperature = calibration.get("temperature")
    if temperature is None:
        return None
    line = f"- probabilities: temperature-scaled (T = {temperature:.2f}, fitted on {calibration.get('temperature_fitted_on', 'held-out predictions')})"
    headline = metrics.headline
    report = headline.calibration if headline is not None else None
    if report and report.get("ece_calibrated") is not None:
        line += (f"; expected calibration error {report['ece_raw']:.3f} → {report['ece_calibrated']:.3f}, "
                 f"predictions shown at 99% or more {percent(report['share_certain_raw'])} → "
                 f"{percent(report['share_certain_calibrated'])} ({headline.title}, cross-fitted)")
    return line


def _leakage_line(leakage: dict | None) -> str | None:
    """What the leakage check before training found (None when it did not run)."""
    if not leakage:
        return None
    if leakage.get("ok"):
        return "- leakage check before training: no leak found"
    return "- leakage check before training found: " + "; ".join(leakage.get("leaks", []))


def serving_line(config: dict) -> str | None:
    """How the folder is served: its ONNX graph and the checked difference, or why it has none (None: no export)."""
    record = config.get("onnx")
    if not record:
        return None
    if record.get("exported"):
        return (f"- serving: ONNX graph `{record['file']}` (onnxruntime, no torch or TensorFlow); largest probability "
                f"difference from the native network {record['max_abs_probability_difference']:.1e} on "
                f"{record['checked_on']} (tolerance {record['tolerance']:.0e})")
    return f"- serving: the native network, in a child process (no ONNX export: {record.get('reason', 'unknown')})"


def model_card(config: dict, metrics: ModelMetrics) -> str:
    """Return the Markdown model card of a model folder's config and metrics."""
    training = config.get("training") or {}
    lines = [f"# {config['name']}", ""]
    if config.get("description"):
        lines += [config["description"], ""]
    members = config.get("members") or []
    lines += [f"- model: `{config['model']}`"]
    if not members:
        lines.append(f"- features: `{config['features']['kind']}`; preprocessing: "
                     f"{describe_preprocessing(config['preprocess'])}")
    lines += [
        f"- labels: {', '.join(config['labels'])}",
        f"- trained on: {training.get('corpus') or training.get('data') or MISSING}, "
        f"{number(training.get('n_clips'), decimals=0)} clips of {number(training.get('n_actors'), decimals=0)} "
        "speakers (all of them for this shipped model)",
        f"- parameters: {number(metrics.n_parameters, decimals=0)}; size on disk: {megabytes(metrics.size_bytes)}; "
        f"latency per 3-s clip: {number(metrics.latency_ms_per_3s_clip, unit='ms')} (decoding and features included)",
    ]
    for member in members:
        lines.append(f"- member `{member['name']}` (weight {member['weight']:g}): {member.get('description', '')}; "
                     f"features `{member['features']}`; preprocessing: {describe_preprocessing(member.get('preprocess', {}))}")
    serving = serving_line(config)
    if serving:
        lines.append(serving)
    calibration = _calibration_line(config, metrics)
    if calibration:
        lines.append(calibration)
    leakage = _leakage_line(training.get("leakage"))
    if leakage:
        lines.append(leakage)
    if training.get("command"):
        lines.append(f"- rebuilt by: `{training['command']}`")
    lines += ["", "## Evaluation", "", "| protocol | accuracy | UAR | macro F1 | train accuracy |", "|---|---|---|---|---|"]
    for result in metrics.ordered():
        lines.append(
            f"| {result.title} | {percent_spread(result.mean('accuracy'), result.std('accuracy'))} "
            f"| {percent_spread(result.mean('uar'), result.std('uar'))} "
            f"| {number(result.mean('macro_f1'), decimals=3)} | {percent(result.mean('train_accuracy'))} |"
        )
    lines += [""]
    for result in metrics.ordered():
        if result.explanation:
            lines.append(f"- **{result.title}**: {result.explanation}")
    lines += ["", "Validation for early stopping came from the training speakers, never from the test ones, "
              "unless a protocol says otherwise.", ""]
    return "\n".join(lines)
