"""Training: launch a run in the background, watch it live, find the result in the comparison."""

import pandas as pd
import streamlit as st

from ser_core.errors import SERError
from ui import cache, charts, jobs, leakage, nav, paths, widgets

#: Feature kinds offered in the form (any other kind can be typed in).
FEATURE_CHOICES = ("MFCC-16000-40", "MFCC-16000-13", "FRAMES-16000-40-128", "LOGMEL-16000-64-256",
                   "EGEMAPS-16000", "COMPARE-16000", "W2V2-mean-all")
#: Training-set augmentations offered (ser_core.augment keys); the shipped default uses the speed ones.
AUGMENT_CHOICES = ("speed0.85", "speed0.9", "speed0.95", "speed1.05", "speed1.1", "speed1.15", "pitch-2", "pitch2")
PROTOCOL_LABELS = {"random": "study's random 80/20 split (actors shared)",
                   "kfold": "speaker-independent k-fold by actor",
                   "holdout": "held-out actors",
                   "cross_corpus": "train on this corpus, test on another"}
STATUS_ICONS = {jobs.QUEUED: ":material/schedule:", jobs.RUNNING: ":material/autorenew:",
                jobs.SUCCEEDED: ":green[:material/check_circle:]", jobs.FAILED: ":red[:material/error:]",
                jobs.CANCELLED: ":material/stop_circle:"}

widgets.page_setup("Training", icon=nav.BY_TITLE["Training"].icon,
                   intro="Train a model in the background: the app stays usable, the curves update "
                         "live, and the finished model appears on the Model comparison page.")

registry = cache.job_registry()
index = widgets.load_current_corpus()
if index is None:
    widgets.no_data_help()
else:
    from ser_core.models.registry import DESCRIPTIONS, MODEL_NAMES
    from ser_core.train import TrainConfig

    actors = sorted(index.clips["actor"].astype(str).unique())
    st.caption(f"Training data: {len(index.clips):,} clips of {len(actors)} actors from "
               f"`{widgets.current_data_path()}`.")
    with st.form("train_form"):
        first = st.columns(3)
        model_name = first[0].selectbox("Model", MODEL_NAMES, index=MODEL_NAMES.index("cnn"),
                                        format_func=lambda n: f"{n}: {DESCRIPTIONS.get(n, '')}")
        features = first[1].selectbox("Features", FEATURE_CHOICES, accept_new_options=True,
                                      help="Any kind ser_core knows, e.g. MFCC-16000-40 (the study's "
                                           "160 values) or FRAMES-16000-40-128 (per frame).")
        protocol = first[2].selectbox("Protocol", list(PROTOCOL_LABELS), index=1,
                                      format_func=PROTOCOL_LABELS.get)
        second = st.columns(3)
        n_folds = second[0].number_input("Folds (k-fold)", min_value=2, max_value=max(2, len(actors)),
                                         value=min(5, max(2, len(actors))))
        test_actors = second[1].multiselect("Test actors (held-out)", actors, key="train_test_actors",
                                            default=actors[-min(4, max(1, len(actors) // 5)):])
        loss = second[2].selectbox("Loss (Keras models)", ["crossentropy", "focal"])
        third = st.columns(4)
        epochs = third[0].number_input("Epochs", min_value=1, max_value=500, value=30)
        batch_size = third[1].number_input("Batch size", min_value=1, max_value=1024, value=36)
        learning_rate = third[2].number_input("Learning rate", min_value=1e-6, max_value=1.0,
                                              value=1e-3, format="%.6f")
        seed = third[3].number_input("Seed", min_value=0, max_value=2**31 - 1, value=42)
        augment = st.multiselect(
            "Augment the training clips", AUGMENT_CHOICES, key="train_augment",
            help="Each choice adds a perturbed copy of every training clip (never of validation or "
                 "test clips): speedF plays it F times faster (tempo and pitch together), pitchN shifts "
                 "it N semitones. Copies cost one feature extraction each, then come from the cache.")
        test_data = widgets.cross_corpus_input(key="train_test_data")
        name = st.text_input("Model folder name", placeholder="e.g. my-cnn (default: model-protocol)")
        submitted = st.form_submit_button("Start training", type="primary", icon=":material/rocket_launch:")

    if submitted:
        with widgets.shown_errors("Cannot start this run"):
            if not features:
                raise SERError("choose or type a feature kind, e.g. MFCC-16000-40")
            config = TrainConfig(model=model_name, features=features, protocol=protocol,
                                 n_folds=int(n_folds), test_actors=tuple(test_actors), loss=loss,
                                 epochs=int(epochs), batch_size=int(batch_size),
                                 learning_rate=float(learning_rate), seed=int(seed), augment=tuple(augment),
                                 test_data=test_data if protocol == "cross_corpus" else "")
            root = paths.artifacts_root()
            taken = [p.name for p in root.iterdir()] if root.is_dir() else []
            folder_name = registry.claim_name(name.strip() or f"{model_name}-{protocol}", taken=taken)
            job = registry.submit(
                jobs.training_work(config, data=str(widgets.current_data_path()),
                                   artifact_dir=root / folder_name),
                name=folder_name, settings=config.to_dict(),
            )
            st.toast(f"Started {folder_name}", icon=":material/rocket_launch:")


def stage_text(job: jobs.Job, history: list[dict]) -> tuple[float, str]:
    """Progress fraction and a sentence for the latest record of a job."""
    epochs = [h for h in history if "epoch" in h]
    if job.finished:
        return 1.0, job.status
    if not epochs:
        last = history[-1].get("stage") if history else None
        return 0.0, "saving the model" if last == "saving" else "indexing and extracting features"
    last = epochs[-1]
    n_folds = int(last.get("n_folds") or 1)
    fold = last.get("fold")
    stages = n_folds + 1  # the protocol's folds, then the final fit on all the data
    done_stages = n_folds if fold == "final" else int(fold or 1) - 1
    total_epochs = max(1, int(job.settings.get("epochs") or 1))
    fraction = (done_stages + min(1.0, int(last["epoch"]) / total_epochs)) / stages
    where = "final fit on all clips" if fold == "final" else f"fold {fold} of {n_folds}"
    return min(fraction, 0.99), f"{where}, epoch {last['epoch']}"


def render_job(job: jobs.Job) -> None:
    """Status, progress, curves and the cancel button of one job."""
    history = job.history_copy()
    with st.container(border=True):
        head, button = st.columns([5, 1])
        settings = job.settings
        head.markdown(f"{STATUS_ICONS[job.status]} **{job.name}**: `{settings.get('model')}` on "
                      f"`{settings.get('features')}`, {settings.get('protocol')} protocol"
                      + (f", augmented with {', '.join(settings['augment'])}" if settings.get("augment") else "")
                      + f" ({job.elapsed_s:.0f} s)")
        if not job.finished:
            if button.button("Cancel", key=f"cancel_{job.id}", disabled=job.cancel_requested):
                job.cancel()
        leakage.render_training_findings(history)
        fraction, text = stage_text(job, history)
        if not job.finished:
            st.progress(fraction, text="stopping…" if job.cancel_requested else text)
        elif job.status == jobs.SUCCEEDED:
            st.success(f"Saved to `{job.result}`; it is now on the Model comparison page.")
        elif job.status == jobs.CANCELLED:
            st.info(f"Cancelled ({job.error}). No model folder was written.")
        else:
            st.error(f"Training failed: {job.error}. No model folder was written.")
        epochs = pd.DataFrame([h for h in history if "epoch" in h])
        if not epochs.empty and epochs["epoch"].max() > 1:
            current = epochs[epochs["fold"].astype(str) == str(epochs["fold"].iloc[-1])]
            fold = current["fold"].iloc[-1]
            label = "final fit" if fold == "final" else f"fold {fold}"
            st.plotly_chart(charts.training_curves(current, title=f"Training curves ({label})"),
                            key=f"curves_{job.id}")


st.subheader("Runs on this server")


polling = bool(registry.running())


@st.fragment(run_every=1.0 if polling else None)
def job_board() -> None:
    """Every job of this server, redrawn once a second while one runs."""
    all_jobs = registry.jobs()
    if polling and not registry.running():
        st.rerun(scope="app")  # the last run ended: redraw everything once and stop polling
    if not all_jobs:
        st.caption("No training run yet.")
        return
    for job in all_jobs:
        render_job(job)


job_board()
