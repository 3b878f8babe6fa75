"""Model comparison: which model to trust on new voices, at a glance; everything else one click away."""

from functools import partial

import pandas as pd
import streamlit as st

from ser_core.formatting import megabytes, number, percent, percent_spread
from ser_core.modelfolder.read import artifacts_root
from ser_core.reporting import charts
from ser_core.reporting.comparison import best_on_new_speakers, headline_rows, per_corpus_rows
from ser_core.reporting.study_figures import STUDY_PROTOCOL
from ui import cache, hosting, model_detail, nav, tables, widgets

widgets.page_setup("Model comparison", icon=nav.BY_TITLE["Model comparison"].icon,
                   intro="Every model, judged first by how it does on voices it never heard. "
                         "Figures on the study's random split, which shares voices between training and "
                         "test, are one click away and always labelled.")

artifacts = widgets.available_models()
if artifacts.empty:
    widgets.no_model_help()
    st.stop()

default = tables.default_name(artifacts_root())
table = tables.comparison_table(artifacts.to_dict("records"), default_name=default)
for _, row in table[table["error"].notna()].iterrows():
    st.warning(f"`{row['name']}` cannot be read: {hosting.redact(row['error'])}", icon=":material/warning:")
table = table[table["error"].isna() & table["protocol"].notna()]
if table.empty:
    st.info("No model has evaluation figures yet.")
    st.stop()
table, cross = tables.split_cross_corpus(table)  # cross-corpus rows get their own table below
rows = table.to_dict("records")
headline = pd.DataFrame(headline_rows(rows))

# ---------------------------------------------------------------- the headline
best = best_on_new_speakers(rows)
if best is not None:
    cols = st.columns([2, 1, 1])
    badge = " (the default)" if best["name"] == default else ""
    cols[0].metric("Best on new speakers" + badge, best["name"],
                   help=f"Highest single-clip accuracy under {best['protocol_title']}.")
    cols[1].metric("Accuracy", percent(best["accuracy"]),
                   help=f"Mean over folds; spread ± {percent(best['accuracy_std'])}" if best["accuracy_std"] else None)
    cols[2].metric("UAR", percent(best["uar"]), help="Unweighted average recall: each emotion counts the same.")
if default and default != (best or {}).get("name"):
    default_rows = headline[headline["name"] == default]
    if not default_rows.empty:
        row = default_rows.iloc[0]
        st.caption(f"The default model **{default}**: {percent_spread(row['accuracy'], row['accuracy_std'])} "
                   f"accuracy, {row['protocol_title']}.")

glance, same = tables.headline_glance(headline.to_dict("records"), default=default)
st.dataframe(glance, hide_index=True, width="stretch", column_config=tables.column_config(glance))
tested = f"All tested on {same['tested on']}. " if "tested on" in same else ""
st.caption(f"★ the default model. {tested}Each model is shown on the most honest protocol it was tested with; ± is "
           "the spread over folds (one standard deviation). Speaker-independent figures are the ones to expect on "
           "a new voice.")
corpus_index = widgets.load_current_corpus()
corpus_summary = None
if corpus_index is not None:
    from ser_core.data.index import summarize

    corpus_summary = summarize(corpus_index)
st.download_button("Download the stakeholder report (HTML)",
                   data=cache.dashboard_report(table, default, roots=tuple(map(str, widgets.model_roots())),
                                               corpus=corpus_summary),
                   file_name="ser-studio-report.html", mime="text/html", icon=":material/description:",
                   help="One self-contained page: the corpus, the models and their protocols in plain words, the "
                        "best model's confusion matrix, accuracy against latency, the study's figures beside ours.")

# ---------------------------------------------------------------- details, one click away
with st.expander("Every protocol, size and speed"):
    protocols = sorted(table["protocol_title"].unique())
    chosen = st.pills("Protocols", protocols, selection_mode="multi", default=protocols, key="compare_protocols")
    shown = table[table["protocol_title"].isin(chosen or protocols)]
    details = pd.DataFrame({
        "model": shown["name"], "protocol": shown["protocol_title"],
        "accuracy": [percent_spread(a, s) for a, s in zip(shown["accuracy"], shown["accuracy_std"])],
        "UAR": [percent_spread(a, s) for a, s in zip(shown["uar"], shown["uar_std"])],
        "macro F1": shown["macro_f1"].map(lambda v: number(v, decimals=3)),
        "train accuracy": shown["train_accuracy"].map(percent),
        "parameters": shown["n_parameters"].map(lambda v: number(v, decimals=0)),
        "size": (shown["size_mb"] * 1e6).map(megabytes),
        "training": shown["training_time_s"].map(lambda v: number(v, decimals=0, unit="s")),
        "ms per 3-s clip": shown["latency_ms"].map(number),
    })
    details, same = tables.phone_friendly(details, keep=("model", "protocol", "accuracy", "UAR"))
    # Tall enough for every row: the table scrolls sideways on a phone, never both ways.
    st.dataframe(details, hide_index=True, width="stretch", height=36 * (len(details) + 1) + 4,
                 column_config=tables.column_config(details))
    if same:
        st.caption("The same in every row: " + "; ".join(f"{column} {value}" for column, value in same.items()) + ".")
    if headline["latency_ms"].notna().any():
        widgets.chart(charts.accuracy_vs_latency(headline), key="acc_latency")

# ---------------------------------------------------------------- tested on another corpus
if not cross.empty:
    st.subheader("Tested on another corpus")
    view = tables.cross_corpus_view(cross)
    for column in ("accuracy", "uar"):
        view[column] = view[column].map(percent)
    view["macro_f1"] = view["macro_f1"].map(lambda v: number(v, decimals=3))
    st.dataframe(view, hide_index=True, width="stretch")
    st.caption("Trained on one corpus (or all but one), tested on another, on the labels both share: clips of other "
               "labels are left out and the model chooses among the shared labels only. Not comparable with the "
               "figures above.")
    loco = pd.DataFrame(per_corpus_rows(cross.to_dict("records")))
    if not loco.empty:
        st.markdown("**Speech it was not trained on: leave one corpus out, per corpus**")
        for column in ("accuracy", "uar"):
            loco[column] = loco[column].map(percent)
        loco["macro_f1"] = loco["macro_f1"].map(lambda v: number(v, decimals=3))
        st.dataframe(loco.rename(columns={"corpus": "corpus left out", "n_test_clips": "clips scored"}),
                     hide_index=True, width="stretch")
        st.caption("Each corpus was left out of training in turn and tested by a model trained on all the others, "
                   "on the labels it shares with them. The mean row counts every corpus the same.")

# ---------------------------------------------------------------- the study's figures
st.subheader("Beside the study's figures")
side = tables.study_comparison(table, default_name=default)
shown_side = side.copy()
for column in shown_side.columns[1:]:
    shown_side[column] = shown_side[column].map(lambda v: number(v, decimals=2) if "F1" in column else percent(v))
#: Short headers, so the whole table fits a laptop screen (the caption below says what each means).
SHORT = {"study: test accuracy (random split)": "study", "study: macro F1": "study F1",
         "ours: as the study ran it": "ours, as the study ran it", "ours: random split, clean": "ours, clean",
         "ours: new speakers": "ours, new speakers"}
shown_side = shown_side.rename(columns=SHORT)
st.dataframe(shown_side, hide_index=True, width="stretch", column_config=tables.column_config(shown_side, pinned=("system",)))
st.caption(f"**study**: {STUDY_PROTOCOL}. **ours, as the study ran it**: the same split with early stopping watching "
           "the test clips (optimistic). **clean**: early stopping on training clips only. **new speakers**: "
           "5-fold by actor, the honest estimate. — means not trained here yet.")

# ---------------------------------------------------------------- one model, and two side by side
st.subheader("Per model")
options = [(row["name"], row["protocol"]) for row in rows]
label = partial(model_detail.option_label, table)


default_first = next((i for i, (name, _) in enumerate(options) if name == default), 0)
detail = st.selectbox("Model", options, index=default_first, format_func=label, key="detail_model")
model_detail.render_detail(artifacts, detail, key="single")

if len(options) > 1:
    st.subheader("Two models side by side")
    left, right = st.columns(2)
    with left:
        first = st.selectbox("Left", options, index=0, format_func=label, key="left_model")
        model_detail.render_detail(artifacts, first, key="left", compact=True)
    with right:
        second = st.selectbox("Right", options, index=1, format_func=label, key="right_model")
        model_detail.render_detail(artifacts, second, key="right", compact=True)

mine = artifacts[artifacts.get("mine", False) == True] if "mine" in artifacts else artifacts.iloc[0:0]  # noqa: E712
if len(mine):
    st.subheader("Your models")
    for _, row in mine.iterrows():
        st.download_button(f"Download {row['name']} (zip)", data=cache.model_zip(row["path"]),
                           file_name=f"{row['name']}.zip", mime="application/zip", key=f"zip_{row['name']}")
