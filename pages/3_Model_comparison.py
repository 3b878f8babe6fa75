"""Model comparison: every trained model's accuracy, UAR, cost and errors, beside the study's figures."""

import pandas as pd
import streamlit as st

from ui import cache, charts, nav, paths, tables, widgets

widgets.page_setup("Model comparison", icon=nav.BY_TITLE["Model comparison"].icon,
                   intro="Every model folder under artifacts/, under each protocol it was evaluated "
                         "with. Speaker-independent protocols test on actors never heard in training; "
                         "the study's random split shares actors between training and test.")

root = paths.artifacts_root()
artifacts = cache.artifacts(root)
if artifacts.empty:
    widgets.no_model_help()
    st.stop()

table = tables.comparison_table(artifacts.to_dict("records"), default_name=tables.default_name(root))
broken = table[table["error"].notna()]
for _, row in broken.iterrows():
    st.warning(f"`{row['name']}` cannot be read: {row['error']}", icon=":material/warning:")
table = table[table["error"].isna() & table["protocol"].notna()]
if table.empty:
    st.info("No model folder has evaluation metrics yet.")
    st.stop()
within, cross = tables.split_cross_corpus(table)  # cross-corpus rows get their own table below

# ---------------------------------------------------------------- the table
protocols = sorted(within["protocol"].unique())
chosen = st.pills("Protocols", protocols, selection_mode="multi", default=protocols,
                  key="compare_protocols")
shown = within[within["protocol"].isin(chosen or protocols)]
percent = dict(format="percent", min_value=0, max_value=1)
st.dataframe(
    shown[["name", "model", "features", "protocol_title", "accuracy", "uar", "macro_f1",
           "train_accuracy", "n_parameters", "size_mb", "training_time_s", "latency_ms", "default"]],
    hide_index=True, width="stretch",
    column_config={
        "protocol_title": st.column_config.TextColumn("protocol", width="medium"),
        "accuracy": st.column_config.ProgressColumn("test accuracy", **percent),
        "uar": st.column_config.ProgressColumn("UAR", **percent),
        "macro_f1": st.column_config.NumberColumn("macro F1", format="%.3f"),
        "train_accuracy": st.column_config.NumberColumn("train accuracy", format="percent"),
        "n_parameters": st.column_config.NumberColumn("parameters", format="localized"),
        "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f"),
        "training_time_s": st.column_config.NumberColumn("training (s)", format="%.0f"),
        "latency_ms": st.column_config.NumberColumn("ms per 3-s clip", format="%.1f"),
        "default": st.column_config.CheckboxColumn("default"),
    },
)
st.caption("k-fold figures are the mean over folds; the ± std is in each model's detail below.")

missing = table[table["latency_ms"].isna()]["name"].unique()
if len(missing) and st.button(f"Measure the latency of {len(missing)} model(s)", icon=":material/timer:"):
    from ser_core.artifacts import update_metrics
    from ser_core.evaluate import latency_per_clip_ms

    bar = st.progress(0.0)
    for i, name in enumerate(missing, start=1):
        path = table[table["name"] == name]["path"].iloc[0]
        with widgets.shown_errors(f"Could not time {name}"):
            update_metrics(path, {"latency_ms_per_3s_clip": latency_per_clip_ms(cache.model(path))})
        bar.progress(i / len(missing), text=name)
    st.cache_data.clear()
    st.rerun()

if shown["latency_ms"].notna().any():
    st.plotly_chart(charts.accuracy_vs_latency(shown), key="acc_latency")

# ---------------------------------------------------------------- tested on another corpus
if not cross.empty:
    st.subheader("Tested on another corpus")
    st.dataframe(tables.cross_corpus_view(cross), hide_index=True, width="stretch",
                 column_config={"accuracy": st.column_config.ProgressColumn("accuracy", **percent),
                                "uar": st.column_config.ProgressColumn("UAR", **percent),
                                "macro_f1": st.column_config.NumberColumn("macro F1", format="%.3f"),
                                "n_left_out": st.column_config.NumberColumn("clips left out")})
    st.caption("Trained on one corpus, tested on another, on the labels both share: clips of other labels are "
               "left out and the model chooses among the shared labels only. Not comparable with the table above.")

# ---------------------------------------------------------------- the study's figures
st.subheader("Beside the study's figures")
side = tables.study_comparison(table)
st.dataframe(side, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.3f" if "F1" in c else "percent")
                            for c in side.columns if c != "model"})
st.caption(f"Columns marked **study** are {tables.STUDY_LABEL}: its paper's figures on a random "
           "stratified 80/20 split (288 test clips, 24 actors). Columns marked **ours** come from the "
           "model folders above, under the protocol named; blank means no such model is trained yet.")

# ---------------------------------------------------------------- one model, and two side by side
st.subheader("Per model")
options = [f"{row.name} · {row.protocol}" for row in table.itertuples()]


def render_detail(option: str, *, key: str) -> None:
    """Classification report, confusion matrix and best/worst emotion of one model and protocol."""
    row = table.iloc[options.index(option)]
    artifact = artifacts[artifacts["name"] == row["name"]].iloc[0]
    result = tables.protocol_results(artifact["metrics"], row["protocol"])
    evaluation = tables.detailed_evaluation(result)
    cols = st.columns(3)
    std = row["accuracy_std"]
    cols[0].metric("Test accuracy", f"{row['accuracy']:.1%}",
                   help=f"± {std:.1%} over folds" if pd.notna(std) else None)
    cols[1].metric("UAR", f"{row['uar']:.1%}")
    cols[2].metric("Macro F1", f"{row['macro_f1']:.3f}")
    if evaluation is None:
        st.info("This model folder has no per-class evaluation.")
        return
    best, worst = evaluation["best_emotion"], evaluation["worst_emotion"]
    st.markdown(f"Best recognised {widgets.emotion_chip(best)} "
                f"(recall {evaluation['per_class'][best]['recall']:.0%}); worst "
                f"{widgets.emotion_chip(worst)} (recall {evaluation['per_class'][worst]['recall']:.0%})",
                unsafe_allow_html=True)
    st.plotly_chart(charts.confusion(evaluation["confusion"], labels=evaluation["labels"],
                                     title=f"Confusion matrix, {row['protocol_title']}"),
                    key=f"confusion_{key}")
    report = pd.DataFrame(evaluation["per_class"]).T.rename_axis("emotion").reset_index()
    st.dataframe(report, hide_index=True, width="stretch",
                 column_config={"precision": st.column_config.NumberColumn(format="%.2f"),
                                "recall": st.column_config.NumberColumn(format="%.2f"),
                                "f1": st.column_config.NumberColumn(format="%.2f")})
    card = tables.model_card(row["path"])
    if card:
        with st.expander("Model card"):
            st.markdown(card)


detail = st.selectbox("Model", options, key="detail_model")
render_detail(detail, key="single")

if len(options) > 1:
    st.subheader("Two models side by side")
    left, right = st.columns(2)
    with left:
        first = st.selectbox("Left", options, index=0, key="left_model")
        render_detail(first, key="left")
    with right:
        second = st.selectbox("Right", options, index=1, key="right_model")
        render_detail(second, key="right")
