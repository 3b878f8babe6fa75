"""Training: queue a run in the background, watch it live, find the result in the comparison."""

import streamlit as st

from ui import cache, hosting, nav, training, widgets

widgets.page_setup("Training", icon=nav.BY_TITLE["Training"].icon,
                   intro="Train a model in the background: the app stays usable, the curves update live, and "
                         "the finished model appears on the Model comparison page.")

policy = hosting.policy()
registry = cache.job_registry()
visitor = hosting.visitor_id()
index = widgets.load_current_corpus()
if index is None:
    widgets.no_data_help(needed_for="training")
else:
    from ser_core.audio.augment import SUGGESTED_AUGMENTATIONS, missing_training_package as missing_augmentation_package
    from ser_core.data.protocols import protocol_title
    from ser_core.features.names import SUGGESTED_FEATURES
    from ser_core.models.registry import (DESCRIPTIONS, MODEL_DEFAULTS, MODEL_NAMES, TRAINING_REQUIREMENTS,
                                          missing_training_package)
    from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig

    speakers = sorted(index.clips["speaker"].astype(str).unique())
    corpora = index.corpora
    st.caption(f"Training data: {len(index.clips):,} clips of {len(speakers)} speakers"
               + (f" in {len(corpora)} corpora ({', '.join(corpora)})" if len(corpora) > 1 else "")
               + f" from {widgets.describe_data_path(widgets.current_data_path())}.")
    if policy.public:
        st.caption(f"On this public demo: one training at a time on the server, {policy.max_queued_per_visitor} "
                   f"per visitor, at most {policy.max_epochs} epochs and {policy.job_timeout_s // 60} minutes each, "
                   "and the model families that finish in minutes on a small server.")
    allowed = [name for name in MODEL_NAMES if policy.allows_model(name)]
    models = [name for name in allowed if missing_training_package(name) is None]
    augmentation_needs = {key: missing_augmentation_package(key) for key in SUGGESTED_AUGMENTATIONS}
    offered_augmentations = [key for key, package in augmentation_needs.items() if package is None]
    not_installed = sorted(({missing_training_package(name) for name in allowed}
                            | set(augmentation_needs.values())) - {None})
    if not_installed:
        st.caption(f"Families and augmentations that need {', '.join(not_installed)} are not offered: this install "
                   f"has no {' or '.join(not_installed)}. `pip install -r {TRAINING_REQUIREMENTS}` adds them.")
    # Model and protocol outside the form: the form then shows only the settings that apply to them.
    picked = training.preselected_model(models, cache.artifacts())
    top = st.columns(2)
    model_name = top[0].selectbox("Model", models, index=models.index(picked),
                                  format_func=lambda n: f"{n}: {DESCRIPTIONS.get(n, '')}", key="train_model",
                                  help=f"Preselected: {picked}, the best on new speakers among the shipped models "
                                       "that trained in minutes.")
    protocols = (["kfold", "random", "holdout"] + (["loco"] if len(corpora) >= 2 else [])
                 + ([] if policy.public else ["cross_corpus"]))
    default_folds = min(5, max(2, len(speakers)), policy.max_folds)  # the folds box's first value
    protocol = top[1].selectbox("Protocol", protocols,
                                format_func=lambda p: protocol_title(p, n_folds=default_folds, test_speakers=["…"],
                                                                     corpus="named below", corpora=corpora),
                                key="train_protocol",
                                help="Leave one corpus out (offered when the corpus gathers several): each "
                                     "corpus is tested by a model trained on the others, beside new-speaker "
                                     "k-fold over every clip.")
    defaults = MODEL_DEFAULTS[model_name]

    def shown(setting: str) -> bool:
        return training.applies(setting, model=model_name, protocol=protocol)

    with st.form("train_form"):
        first = st.columns(2)
        features = first[0].selectbox("Features", [k for k in SUGGESTED_FEATURES if policy.allows_features(k)],
                                      index=None, placeholder=f"the model's own: {defaults['features']}",
                                      accept_new_options=not policy.public, key="train_features",
                                      help="Any kind ser_core knows, e.g. MFCC-16000-40 (the study's 160 values).")
        seed = first[1].number_input("Seed", min_value=0, max_value=2**31 - 1, value=42, key="train_seed")
        loss, n_folds, test_speakers, epochs = "crossentropy", 5, (), None
        wanted = [name for name in ("loss", "folds", "test_speakers", "epochs") if shown(name)]
        second = iter(st.columns(len(wanted))) if wanted else iter(())
        if shown("loss"):
            loss = next(second).selectbox("Loss (the study's networks)", ["crossentropy", "focal"], key="train_loss")
        if shown("folds"):
            n_folds = next(second).number_input("Folds (k-fold)", min_value=2,
                                                max_value=max(2, min(policy.max_folds, len(speakers))),
                                                value=default_folds, key="train_folds")
        if shown("test_speakers"):
            test_speakers = next(second).multiselect("Test speakers (held-out)", speakers, key="train_test_speakers",
                                                     default=speakers[-min(4, max(1, len(speakers) // 5)):])
        if shown("epochs"):
            epochs = next(second).number_input("Epochs", min_value=1, max_value=policy.max_epochs,
                                               value=min(int(defaults.get("epochs", 30)), policy.max_epochs),
                                               key=f"train_epochs_{model_name}")
        batch_size = learning_rate = None
        if not policy.public and "batch_size" in defaults:
            third = st.columns(2)
            batch_size = int(third[0].number_input("Batch size", min_value=2, max_value=1024,
                                                   value=int(defaults["batch_size"]), key=f"train_batch_{model_name}"))
            learning_rate = float(third[1].number_input("Learning rate", min_value=1e-6, max_value=1.0,
                                                        value=float(defaults["learning_rate"]), format="%.6f",
                                                        key=f"train_lr_{model_name}"))
        augment = st.multiselect(
            "Augment the training clips", offered_augmentations, key="train_augment", max_selections=policy.max_augment or None,
            help="Each choice adds a perturbed copy of every training clip (never of test clips): speedF plays it F "
                 "times faster (tempo and pitch together), pitchN shifts it N semitones.")
        test_data = widgets.cross_corpus_input(key="train_test_data") if shown("test_corpus") else ""
        name = st.text_input("Model name", placeholder="e.g. my-model (letters, digits, . _ -)", max_chars=64,
                             key="train_name")
        replace = False if policy.public else st.checkbox("Replace a model of the same name", key="train_replace")
        submitted = st.form_submit_button("Start training", type="primary", icon=":material/rocket_launch:")

    if submitted:
        with widgets.shown_errors("Cannot start this run"):
            config = TrainConfig(
                model=model_name, seed=int(seed),
                data=DataSettings(features=features or None, augment=tuple(augment)),
                protocol=ProtocolSettings(protocol, n_folds=int(n_folds), test_speakers=tuple(test_speakers),
                                          test_data=test_data if protocol == "cross_corpus" else ""),
                fit=FitSettings(loss=loss, epochs=int(epochs) if epochs is not None else None, batch_size=batch_size,
                                learning_rate=learning_rate))
            job = training.submit(registry, config, name=name, replace=replace)
            st.toast(f"Queued {job.name}", icon=":material/rocket_launch:")


st.subheader("Your runs")
polling = bool(registry.running(owner=visitor))


@st.fragment(run_every=1.0 if polling else None)
def job_board() -> None:
    """This visitor's jobs, redrawn once a second while one runs or waits."""
    mine = registry.jobs(owner=visitor)
    if polling and not registry.running(owner=visitor):
        st.rerun(scope="app")  # the last run ended: redraw everything once and stop polling
    if not mine:
        st.caption("No training run yet.")
        return
    for job in mine:
        training.render_job(job, registry)


job_board()
