"""Home: what the studio does, its data and models, and the way to a first prediction.

Run with ``streamlit run app.py``. This page imports neither tensorflow nor torch, so
the dashboard opens fast; the other pages load what they need when they need it.
"""

import streamlit as st

from ui import nav, tables, widgets


def home() -> None:
    """The landing page: intro, page cards, dataset, models, first prediction."""
    widgets.page_setup("Speech emotion recognition studio", icon=nav.HOME_ICON,
                       intro="Explore an emotional speech corpus, inspect its features, train and "
                             "compare models, and hear what a model makes of your own voice.")

    st.page_link(nav.BY_TITLE["Predict"].path, label="**Classify your voice now**: upload or record a clip",
                 icon=":material/play_circle:")

    page_cards()
    index = dataset_status()
    artifacts = model_status()
    first_prediction(index, artifacts)


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
        cols[0].metric("Corpus", index.corpus.upper())
        cols[1].metric("Clips", f"{len(clips):,}")
        cols[2].metric("Actors", clips["actor"].nunique())
        cols[3].metric("Emotions", clips["emotion"].nunique())
        st.caption(f"From {widgets.describe_data_path(widgets.current_data_path())}. "
                   "Choose another corpus on the Dataset explorer.")
    return index


def model_status():
    """The models on their most honest figure, the default first; returns the models table."""
    import pandas as pd

    from ser_core.formatting import percent_spread
    from ser_core.modelfolder.read import artifacts_root
    from ser_core.reporting.comparison import headline_rows

    st.subheader("Models")
    artifacts = widgets.available_models()
    if artifacts.empty:
        widgets.no_model_help()
        return artifacts
    default = tables.default_name(artifacts_root())
    rows = headline_rows(tables.comparison_table(artifacts.to_dict("records"), default_name=default).to_dict("records"))
    top = next((row for row in rows if row["name"] == default), rows[0] if rows else None)
    if top is not None:
        st.markdown(f"The default model, **{top['name']}**, is right about "
                    f"**{percent_spread(top['accuracy'], top['accuracy_std'])}** of the time on voices it never "
                    f"heard ({top['protocol_title']}); chance is 12.5%.")
    glance = pd.DataFrame({
        "model": [row["name"] + (" ★" if row["name"] == default else "") for row in rows],
        "tested on": [row["protocol_title"] for row in rows],
        "accuracy": [percent_spread(row["accuracy"], row["accuracy_std"]) for row in rows],
        "UAR": [percent_spread(row["uar"], row["uar_std"]) for row in rows],
    })
    st.dataframe(glance, hide_index=True, width="stretch")
    st.caption("★ the default. Each model is shown on its most honest test: new speakers whenever it was tested on "
               "them. The study's random split shares voices between training and test, so its figures are higher "
               "and say less about a new voice; they are on the Model comparison page.")
    st.page_link(nav.BY_TITLE["Model comparison"].path, label="Compare them in detail",
                 icon=nav.BY_TITLE["Model comparison"].icon)
    return artifacts


def first_prediction(index, artifacts) -> None:
    """A one-click example when there is a corpus and a model, else the way to Predict."""
    st.subheader("Your first prediction")
    if index is not None and not artifacts.empty:
        example = widgets.example_clip(index.clips)
        st.markdown(f"Pick an example from the corpus (`{example.name}`), or upload or record your own "
                    "on the Predict page.")
        if st.button("Classify an example clip", type="primary", icon=":material/hearing:"):
            widgets.queue_example(example)
            st.switch_page(nav.BY_TITLE["Predict"].path)
    else:
        st.markdown("Open **Predict**, then upload a clip (wav, mp3, flac, ogg, m4a, webm) or record "
                    "a few seconds in the browser.")


home()
