"""Home: what the studio does, its data and models, and the way to a first prediction.

Run with ``streamlit run app.py``. This page imports neither tensorflow nor torch, so
the dashboard opens fast; the other pages load what they need when they need it.
"""

import streamlit as st

from ui import cache, nav, paths, tables, widgets


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
        st.caption(f"From `{widgets.current_data_path()}`. Choose another corpus on the Dataset explorer.")
    return index


def model_status():
    """The trained models with their headline figures; returns the artifacts table."""
    st.subheader("Models")
    root = paths.artifacts_root()
    artifacts = cache.artifacts(root)
    if artifacts.empty:
        st.info(f"No trained model in `{root}` yet. Train one on the Training page "
                "(or `python -m ser_core reproduce`).", icon=":material/info:")
    else:
        default = tables.default_name(root)
        table = tables.comparison_table(artifacts.to_dict("records"), default_name=default)
        usable = table[table["error"].isna()]
        if default:
            best = usable[usable["name"] == default]
            if not best.empty:
                row = best.iloc[0]
                st.markdown(f"The default model is **{default}** (`{row['model']}` on "
                            f"`{row['features']}`).")
        st.dataframe(
            usable[["name", "model", "features", "protocol", "accuracy", "uar", "latency_ms", "default"]],
            hide_index=True, width="stretch",
            column_config={
                "accuracy": st.column_config.ProgressColumn("accuracy", format="percent",
                                                            min_value=0, max_value=1),
                "uar": st.column_config.ProgressColumn("UAR", format="percent", min_value=0, max_value=1),
                "latency_ms": st.column_config.NumberColumn("ms per 3-s clip", format="%.1f"),
                "default": st.column_config.CheckboxColumn("default"),
            },
        )
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
