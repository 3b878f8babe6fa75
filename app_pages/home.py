"""Home: what the studio does, its data and models, and the way to a first prediction.

The app's root URL (``ui.nav.HOME``). This page imports neither tensorflow nor torch, so
the dashboard opens fast; the other pages load what they need when they need it. The
title goes out before pandas is imported (:mod:`ui.tables`), the text before the table,
and the chart last.
"""

import streamlit as st

from ui import nav, widgets


def home() -> None:
    """The landing page: the default model in plain words, examples, page cards, dataset, models."""
    widgets.page_setup("Speech emotion recognition studio", icon=nav.HOME.icon,
                       intro="Hear what a model makes of a voice, and see how far to trust it.")
    artifacts = widgets.available_models()
    default_summary(artifacts)
    st.page_link(nav.BY_TITLE["Predict"].path, label="**Classify your voice now**: upload or record a clip",
                 icon=":material/play_circle:")
    first_prediction(artifacts)
    page_cards()
    dataset_status()
    model_status(artifacts)


def default_summary(artifacts) -> None:
    """The default model in plain words (:func:`ser_core.reporting.summary.plain_summary`), first on the page."""
    from ser_core.modelfolder.read import artifacts_root
    from ser_core.reporting.summary import plain_summary
    from ui import tables

    default = tables.default_name(artifacts_root())
    rows = artifacts[artifacts["name"] == default] if not artifacts.empty and default else artifacts.iloc[0:0]
    if rows.empty or ("error" in rows and isinstance(rows["error"].iloc[0], str)):
        return
    row = rows.iloc[0].to_dict()
    summary = plain_summary(row)
    with st.container(border=True, key="summary"):
        st.markdown(f"**{summary.lead}**")
        st.markdown("\n".join(summary.markdown().splitlines()[2:]))
        st.caption(f"The default model, `{row['name']}`, in its own figures (its model card).")


def page_cards() -> None:
    """One card per page with a link and what it does."""
    st.subheader("What the studio does")
    cards = st.columns(5)
    for col, page in zip(cards, nav.PAGES):
        with col.container(border=True, height="stretch"):
            st.markdown(f"{page.icon} **{page.title}**")
            st.caption(page.summary)
            st.page_link(page.path, label="Open", icon=":material/arrow_forward:")


def dataset_status():
    """The current corpus in four numbers, or how to get one; returns the index or None."""
    st.subheader("Dataset")
    index = widgets.load_current_corpus()
    if index is None:
        widgets.no_data_help()
    else:
        clips = index.clips
        cols = st.columns(4)
        cols[0].metric("Corpus", index.title.upper())
        cols[1].metric("Clips", f"{len(clips):,}")
        cols[2].metric("Speakers", clips["speaker"].nunique())
        cols[3].metric("Emotions", clips["label"].nunique())
        st.caption(f"From {widgets.describe_data_path(widgets.current_data_path())}. "
                   "Choose another corpus on the Dataset explorer.")
    return index


def model_status(artifacts) -> None:
    """The models on their most honest figure, the default first."""
    from ser_core.modelfolder.read import artifacts_root
    from ser_core.reporting.comparison import headline_rows
    from ui import tables

    st.subheader("Models")
    if artifacts.empty:
        widgets.no_model_help()
        return
    default = tables.default_name(artifacts_root())
    rows = headline_rows(tables.comparison_table(artifacts.to_dict("records"), default_name=default).to_dict("records"))
    rows.sort(key=lambda row: row["name"] != default)
    glance, same = tables.headline_glance(rows, default=default)
    st.dataframe(glance, hide_index=True, width="stretch", column_config=tables.column_config(glance))
    tested = f"All tested on {same['tested on']}. " if "tested on" in same else ""
    st.caption(f"★ the default. {tested}Each model is shown on its most honest test: new speakers whenever it was "
               "tested on them. The study's random split shares voices between training and test, so its figures "
               "are higher and say less about a new voice; they are on the Model comparison page.")
    default_recall(artifacts, default)
    st.page_link(nav.BY_TITLE["Model comparison"].path, label="Compare them in detail",
                 icon=nav.BY_TITLE["Model comparison"].icon)


def default_recall(artifacts, default: str | None) -> None:
    """How often the default recognises each emotion on new speakers, against chance (from its metrics)."""
    from ser_core.reporting import charts

    rows = artifacts[artifacts["name"] == default] if default else artifacts.iloc[0:0]
    metrics = rows.iloc[0].get("metrics") if not rows.empty else None
    headline = getattr(metrics, "headline", None)
    evaluation = headline.evaluation() if headline is not None else None
    if not evaluation or not evaluation.get("per_class"):
        return
    recalls = {label: row["recall"] for label, row in evaluation["per_class"].items()}
    widgets.chart(charts.recall_by_emotion(recalls, chance=1 / len(recalls),
                                           title=f"The default, emotion by emotion: {headline.title}"),
                  key="home_recall")


def first_prediction(artifacts) -> None:
    """One click: a shipped example from a voice the default never heard, classified on Predict with its true label."""
    from ser_core.modelfolder.read import artifacts_root
    from ui import examples, tables

    shipped = examples.examples()
    if artifacts.empty or not shipped:
        return
    default = tables.default_name(artifacts_root())
    rows = artifacts[artifacts["name"] == default] if default else artifacts.iloc[0:0]
    config = rows.iloc[0]["config"] if not rows.empty and isinstance(rows.iloc[0].get("config"), dict) else {}
    unheard = [example for example in shipped if not examples.heard_in_training(example, config)]
    shipped = unheard or shipped  # voices the default never heard first
    turn = st.session_state.get("home_example_turn", 0) % len(shipped)
    example = shipped[turn]
    if st.button("Classify an example clip", type="primary", icon=":material/hearing:", key="home_example"):
        st.session_state["home_example_turn"] = turn + 1
        widgets.queue_shipped_example(example)
        st.switch_page(nav.BY_TITLE["Predict"].path)
    never = "a speaker the default was not trained on" if unheard else "a speaker of the default's training corpora"
    metrics = rows.iloc[0].get("metrics") if not rows.empty else None
    loco = metrics.protocols.get("loco") if metrics is not None and hasattr(metrics, "protocols") else None
    record = examples.track_record(example, loco.per_corpus if loco is not None else None)
    st.caption(f"A short acted clip ({example.title.split(' · ')[1]}), {never}; the true label is shown beside the "
               f"verdict. Each click takes the next of {len(shipped)} examples. {record or ''}".strip())


home()
