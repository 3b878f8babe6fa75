"""The Training page's glue: check and queue a run within the server's limits, and draw a run's progress."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ser_core.errors import InputError
from ser_core.formatting import markdown_text
from ser_core.reporting import charts
from ui import hosting, jobs, leakage, widgets

STATUS_ICONS = {jobs.QUEUED: ":material/schedule:", jobs.RUNNING: ":material/autorenew:",
                jobs.SUCCEEDED: ":green[:material/check_circle:]", jobs.FAILED: ":red[:material/error:]",
                jobs.CANCELLED: ":material/stop_circle:", jobs.INTERRUPTED: ":orange[:material/restart_alt:]"}


def _check_limits(policy, config) -> None:
    """InputError when a run asks more than this server allows (model, features, epochs, folds, copies)."""
    if not policy.allows_model(config.model):
        raise InputError(f"{config.model} is not offered on this public demo (it takes too long on a small server); "
                         "run the studio on your own machine to train it")
    if not policy.allows_features(config.data.features):
        raise InputError(f"{config.data.features} features are not offered on this public demo")
    if ((config.fit.epochs or 0) > policy.max_epochs or config.protocol.n_folds > policy.max_folds
            or len(config.data.augment) > policy.max_augment):
        raise InputError(f"this server allows at most {policy.max_epochs} epochs, {policy.max_folds} folds and "
                         f"{policy.max_augment} augmented copies per clip")


def target_folder(name: str, *, model: str, protocol: str, replace: bool):
    """The checked folder a run will save to: one safe name inside this visitor's models folder."""
    from ser_core.modelfolder.read import artifacts_root, folder_in

    root = hosting.models_dir()
    name = name.strip() or f"{model.replace('_', '-')}-{protocol}"
    folder = folder_in(root, name)  # InputError for '..', '/', hidden or odd names
    if hosting.is_public() and (artifacts_root() / folder.name).exists():
        raise InputError(f"{folder.name!r} is the name of a shipped model; choose another name")
    if folder.exists() and not replace:
        raise InputError(f"a model named {folder.name!r} already exists; choose another name"
                         + ("" if hosting.is_public() else " or tick 'Replace a model of the same name'"))
    return folder


def submit(registry, config, *, name, replace):
    """Check a run (a :class:`~ser_core.training.config.TrainConfig`) against this server's limits and queue it for
    this visitor on the current corpus; return the job."""
    policy = hosting.policy()
    _check_limits(policy, config)
    folder = target_folder(name, model=config.model, protocol=config.protocol.name,
                           replace=replace and not policy.public)
    task = jobs.training_task(config, data=widgets.current_data_path(), artifact_dir=folder)
    return registry.submit(task, name=folder.name, owner=hosting.visitor_id(), settings=config.to_dict(),
                           timeout_s=policy.job_timeout_s)


#: A run that took at most this long (folds and final fit, features included) "trains in minutes".
MINUTES_BUDGET_S = 15 * 60
#: Families with epochs, and those whose loss can be chosen (the study's Keras networks).
EPOCH_FAMILIES = ("keras", "torch")
LOSS_FAMILIES = ("keras",)


def preselected_model(models: list[str], artifacts) -> str:
    """The family the form starts on: the best on new speakers among shipped models that trained in minutes.

    ``artifacts``: the shared model folders (``cache.artifacts()``); their own figures and
    training times decide, so a better quick model shipped later is chosen without a code change.
    Falls back to logistic regression, then the first family offered.
    """
    best = None
    for row in ([] if artifacts is None or artifacts.empty else artifacts.to_dict("records")):
        config, metrics = row.get("config"), row.get("metrics")
        if not isinstance(config, dict) or metrics is None or config.get("model") not in models:
            continue
        seconds = (config.get("training") or {}).get("total_time_s")
        headline = metrics.headline
        if seconds is None or seconds > MINUTES_BUDGET_S or headline is None or not headline.speaker_independent:
            continue
        accuracy = headline.mean("accuracy") or 0.0
        if best is None or accuracy > best[0]:
            best = (accuracy, config["model"])
    if best is not None:
        return best[1]
    return "logistic_regression" if "logistic_regression" in models else models[0]


def applies(setting: str, *, model: str, protocol: str) -> bool:
    """Whether a form setting does anything for this model family and protocol (the form shows only those)."""
    from ser_core.models.registry import model_family

    family = model_family(model)
    return {"epochs": family in EPOCH_FAMILIES, "loss": family in LOSS_FAMILIES,
            "folds": protocol in ("kfold", "loco"), "test_speakers": protocol == "holdout",
            "test_corpus": protocol == "cross_corpus"}.get(setting, True)


def remaining_s(history: list[dict], *, n_epochs: int) -> float | None:
    """Seconds left in a run, from the pace of its folds (or epochs); None until two of them have been timed.

    A run is its protocol's folds plus the final fit on every clip, each about as long. The
    time before the first fold (reading clips, extracting features) says nothing about a
    fold's length, so the pace is taken between folds (or between epochs of one fold).
    """
    timed = [h for h in history if h.get("elapsed_s") is not None and h.get("n_folds")]
    if not timed:
        return None
    n_folds = int(timed[0]["n_folds"])
    units = n_folds + 1
    done = [h for h in timed if h.get("stage") == "fold done"]
    last = history[-1]
    if last.get("fold") == "final" and "epoch" not in last:
        return None
    if len(done) >= 2:
        per_unit = (done[-1]["elapsed_s"] - done[0]["elapsed_s"]) / (len(done) - 1)
        finished = n_folds if last.get("fold") == "final" else len(done)
        since = max(0.0, float(last.get("elapsed_s", done[-1]["elapsed_s"])) - done[-1]["elapsed_s"])
        return max(0.0, per_unit * (units - finished) - since)
    epochs = [h for h in timed if "epoch" in h and h.get("fold") == last.get("fold")]
    if len(epochs) >= 2 and n_epochs > 1:
        per_epoch = (epochs[-1]["elapsed_s"] - epochs[0]["elapsed_s"]) / (int(epochs[-1]["epoch"]) - int(epochs[0]["epoch"]))
        finished_units = n_folds if last.get("fold") == "final" else len(done)
        left_here = n_epochs - int(epochs[-1]["epoch"])
        return max(0.0, per_epoch * (left_here + n_epochs * (units - finished_units - 1)))
    return None


def progress_of(job, history: list[dict]) -> tuple[float, str]:
    """Share done (0..1) and a sentence for a job's latest progress.

    A run is its protocol's folds plus the final fit on every clip; each counts the same,
    and within one the epochs done so far count.
    """
    if job.finished:
        return 1.0, job.status
    if job.status == jobs.QUEUED:
        return 0.0, "waiting in the queue"
    sized = [h for h in history if h.get("n_folds")]
    if not sized:
        last = history[-1].get("stage") if history else None
        return 0.01, "saving the model" if last == "saving" else "reading the clips and extracting features"
    n_folds = int(sized[-1]["n_folds"]) if sized[-1].get("fold") != "final" else int(sized[0]["n_folds"])
    folds_done = sum(1 for h in history if h.get("stage") == "fold done")
    config = job_config(job)
    total_epochs = max(1, int((config.fit.epochs if config is not None else job.settings.get("epochs")) or 1))
    last = history[-1]
    if last.get("fold") == "final":
        done, where = n_folds, "final fit on every clip"
    else:
        done, where = folds_done, f"fold {min(folds_done + 1, n_folds)} of {n_folds}"
    within = min(1.0, int(last.get("epoch", 0)) / total_epochs) if "epoch" in last else 0.0
    fraction = min(0.99, max(0.01, (done + within) / (n_folds + 1)))
    epoch = f", epoch {last['epoch']} of {total_epochs}" if "epoch" in last and total_epochs > 1 else ""
    return fraction, where + epoch


def job_config(job):
    """The :class:`~ser_core.training.config.TrainConfig` a job runs (None when its settings cannot be read)."""
    from ser_core.errors import SERError
    from ser_core.training.config import TrainConfig

    try:
        return TrainConfig.from_dict(dict(job.settings))  # nested, or the flat form of runs saved before
    except (SERError, TypeError):
        return None


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {seconds / 60:.0f} min"


def _finished_summary(job) -> str:
    """What a finished run achieved, from the saved model's headline figure."""
    from ser_core.formatting import percent_spread
    from ser_core.modelfolder.read import read_metrics

    try:
        headline = read_metrics(job.result).headline
    except Exception:
        return f"Saved **{job.name}**; it is now on the Model comparison page."
    if headline is None:
        return f"Saved **{job.name}**."
    return (f"Saved **{job.name}**: {percent_spread(headline.mean('accuracy'), headline.std('accuracy'))} accuracy, "
            f"{percent_spread(headline.mean('uar'), headline.std('uar'))} UAR ({headline.title}). "
            "It is now on the Model comparison page" + (" (yours only)." if hosting.is_public() else "."))


def render_job(job, registry) -> None:
    """Status, progress with an estimate, curves, cancel button and outcome of one job."""
    history = job.history_copy()
    with st.container(border=True):
        head, button = st.columns([5, 1])
        config = job_config(job)
        if config is None:
            head.markdown(f"{STATUS_ICONS.get(job.status, '')} **{job.name}**")
        else:
            head.markdown(f"{STATUS_ICONS.get(job.status, '')} **{job.name}**: `{config.model}` on "
                          f"`{config.data.features}`, {config.protocol.name}"
                          + (f", augmented with {', '.join(config.data.augment)}" if config.data.augment else ""))
        if not job.finished and button.button("Cancel", key=f"cancel_{job.id}", disabled=job.cancel_requested):
            job.cancel()
        fraction, text = progress_of(job, history)
        if job.status == jobs.QUEUED:
            position = registry.queue_position(job)
            st.progress(0.0, text=f"Waiting: number {position} in the queue (one training runs at a time)")
        elif not job.finished:
            epochs = int(config.fit.epochs or 1) if config is not None else 1
            remaining = remaining_s(history, n_epochs=epochs) if fraction >= 0.1 else None
            estimate = f" · {_minutes(remaining)} left" if remaining is not None else " · estimating the time left…"
            st.progress(fraction, text="stopping…" if job.cancel_requested else f"{text} · {fraction:.0%}{estimate}")
        elif job.status == jobs.SUCCEEDED:
            st.success(_finished_summary(job))
            from ui import nav

            st.page_link(nav.BY_TITLE["Model comparison"].path, label=f"See {job.name} on Model comparison",
                         icon=nav.BY_TITLE["Model comparison"].icon)
        elif job.status == jobs.CANCELLED:
            st.info(f"Cancelled ({job.error or 'by you'}). No model was saved.")
        elif job.status == jobs.INTERRUPTED:
            st.warning(job.error)
        else:
            st.error(f"Training failed: {markdown_text(hosting.redact(str(job.error)))}. No model was saved.")
        leakage.render_training_findings(history)
        epochs = pd.DataFrame([h for h in history if "epoch" in h and "loss" in h])
        if not epochs.empty and epochs["epoch"].max() > 1:
            current = epochs[epochs["fold"].astype(str) == str(epochs["fold"].iloc[-1])]
            fold = current["fold"].iloc[-1]
            label = "final fit" if fold == "final" else f"fold {fold}"
            widgets.chart(charts.training_curves(current, title=f"Training curves ({label})"), key=f"curves_{job.id}")
