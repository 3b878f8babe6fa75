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


def _trained_on(training: dict) -> str:
    """The training data in words: the corpus (and each corpus's clips when several), clips and speakers."""
    corpora = training.get("corpora") or {}
    if not isinstance(corpora, dict):  # names only
        corpora = dict.fromkeys(corpora)
    named = [name if count is None else f"{name} {number(count, decimals=0)}" for name, count in corpora.items()]
    parts = f" ({', '.join(named)})" if len(named) >= 2 else ""
    return (f"- trained on: {training.get('corpus') or training.get('data') or MISSING}{parts}, "
            f"{number(training.get('n_clips'), decimals=0)} clips of {number(training.get('n_speakers'), decimals=0)} "
            "speakers (all of them for this shipped model)")


def _selection(training: dict) -> list[str]:
    """How the recipe chose this model, when it recorded it."""
    return [f"- how it was chosen: {training['selection']}"] if training.get("selection") else []


def _licences(training: dict) -> list[str]:
    """One line naming each training corpus's licence, when the recipe recorded them."""
    licences = training.get("licences") or {}
    if not licences:
        return []
    terms = "; ".join(f"{name}: {licence}" for name, licence in licences.items())
    return [f"- corpora and their terms: {terms}. The model carries these terms: research and other "
            "non-commercial use only."]


def _facts(config: dict, metrics: ModelMetrics) -> list[str]:
    """The card's bullet list: model, features, labels, data, size and speed, members, serving, calibration."""
    training = config.get("training") or {}
    members = config.get("members") or []
    lines = [f"- model: `{config['model']}`"]
    if not members:
        lines.append(f"- features: `{config['features']['kind']}`; preprocessing: "
                     f"{describe_preprocessing(config['preprocess'])}")
    lines += [
        f"- labels: {', '.join(config['labels'])}",
        _trained_on(training),
        *_licences(training),
        *_selection(training),
        f"- parameters: {number(metrics.n_parameters, decimals=0)}; size on disk: {megabytes(metrics.size_bytes)}; "
        f"latency per 3-s clip: {number(metrics.latency_ms_per_3s_clip, unit='ms')} (decoding and features included)",
    ]
    if training.get("balance"):
        lines.append(f"- class and corpus balance in training: {training['balance']}")
    lines += _adapted_head_line(config, metrics)
    for member in members:
        lines.append(f"- member `{member['name']}` (weight {member['weight']:g}): {member.get('description', '')}; "
                     f"features `{member['features']}`; preprocessing: {describe_preprocessing(member.get('preprocess', {}))}"
                     f"{_domain_clause(member)}")
    extra = [serving_line(config), _calibration_line(config, metrics), _leakage_line(training.get("leakage"))]
    lines += [line for line in extra if line]
    if training.get("command"):
        lines.append(f"- rebuilt by: `{training['command']}`")
    return lines


def _adapted_head_line(config: dict, metrics: ModelMetrics) -> list[str]:
    """For a speaker-adapted model trained also on copies: the adapted head learns from the clean clips only."""
    copies = (((config.get("training") or {}).get("config") or {}).get("data") or {}).get("augment") or []
    if config.get("model") != "adaptive_linear" or not copies or "kfold_speaker_adapted" not in metrics.protocols:
        return []
    return [f"- speaker-adapted head: learns from the clean clips only (the copies, {', '.join(copies)}, train the "
            "single-clip head), so a model of the same settings trained on the same clean clips has the same adapted "
            "head and the same adapted figures"]


def _domain_clause(member: dict) -> str:
    """How a gated member is used, for its card line ('' for a member that takes every clip)."""
    from ser_core.audio.quality import DomainGate

    if "domain" not in member:
        return ""
    gate = DomainGate.from_dict(member["domain"])
    if gate.serves == "outside":
        return f"; used only for noisy or narrow-band recordings ({gate.describe()})"
    return (f"; used only for recordings like its training clips ({gate.describe()}), the other members "
            "deciding alone otherwise")


def per_corpus_table(result) -> list[str]:
    """Markdown rows of a leave-one-corpus-out result: one per corpus left out, then their mean."""
    rows = result.per_corpus
    if not rows:
        return []
    lines = ["| corpus left out | clips scored | shared labels | accuracy | UAR | macro F1 |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['corpus']} | {number(row['n_test_clips'], decimals=0)} | "
                     f"{', '.join(row['shared_labels'] or [])} | {percent(row['accuracy'])} | {percent(row['uar'])} "
                     f"| {number(row['macro_f1'], decimals=3)} |")
    lines.append(f"| **mean of {len(rows)}** | | | {percent_spread(result.mean('accuracy'), result.std('accuracy'))} "
                 f"| {percent_spread(result.mean('uar'), result.std('uar'))} "
                 f"| {number(result.mean('macro_f1'), decimals=3)} |")
    return lines


def reliability_section(reliability) -> list[str]:
    """Markdown lines: how often the model was right at each level of its top score (nothing without a table)."""
    if reliability is None:
        return []
    return ["", "## How sure, and how often right", "",
            f"For each range of the top score it shows, how often that top choice was right on speakers it never "
            f"heard ({reliability.title}; out-of-fold predictions, temperature cross-fitted over the folds).", "",
            *reliability.markdown()]


def model_card(config: dict, metrics: ModelMetrics, *, reliability=None) -> str:
    """Return the Markdown model card of a model folder's config and metrics.

    ``reliability``: the folder's :class:`~ser_core.modelfolder.reliability.Reliability`
    (:func:`~ser_core.modelfolder.reliability.folder_reliability`), printed as a table when given.
    """
    lines = [f"# {config['name']}", ""]
    if config.get("description"):
        lines += [config["description"], ""]
    lines += _facts(config, metrics)
    lines += ["", "## Evaluation", "", "| protocol | accuracy | UAR | macro F1 | train accuracy |", "|---|---|---|---|---|"]
    for result in metrics.ordered():
        lines.append(
            f"| {result.title} | {percent_spread(result.mean('accuracy'), result.std('accuracy'))} "
            f"| {percent_spread(result.mean('uar'), result.std('uar'))} "
            f"| {number(result.mean('macro_f1'), decimals=3)} | {percent(result.mean('train_accuracy'))} |"
        )
    for result in metrics.ordered():
        table = per_corpus_table(result)
        if table:
            lines += ["", f"### {result.title}", "", *table]
    lines += reliability_section(reliability)
    lines += [""]
    for result in metrics.ordered():
        if result.explanation:
            lines.append(f"- **{result.title}**: {result.explanation}")
    lines += ["", "Validation for early stopping came from the training speakers, never from the test ones, "
              "unless a protocol says otherwise.", ""]
    return "\n".join(lines)
