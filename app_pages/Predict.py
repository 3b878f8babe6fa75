"""Predict: classify an uploaded, recorded or live clip, with the model's honest track record beside it."""

import streamlit as st

from ui import cache, nav, predict_tabs, prediction, widgets

widgets.page_setup("Predict", icon=nav.BY_TITLE["Predict"].icon,
                   intro="Upload a clip, record one in the browser, or stream from the microphone; "
                         "the model says which emotion it hears, and how far to trust it.")

model_path = widgets.model_picker(key="predict_model")
if model_path is None:
    widgets.no_model_help()
    st.stop()
with widgets.shown_errors(f"Could not load the model {model_path.name}") as loading:
    model = cache.model(model_path)
if loading.failed:
    st.stop()
st.caption(f"{model.describe()}; emotions: " + ", ".join(model.labels))
st.info(prediction.track_record(model), icon=":material/verified:")
with st.expander("What it was tested on, where it is weak, and what not"):
    st.markdown(prediction.track_record_details(model))

index = widgets.load_current_corpus()
# Only the open tab runs (and is drawn): the microphone's WebRTC component and the adaptation form cost a first
# visit nothing until a visitor opens them, and leaving the Live tab ends the stream.
clip_tab, live_tab, adapt_tab = st.tabs(list(predict_tabs.TABS), key=predict_tabs.TAB_KEY, on_change="rerun")

if clip_tab.open:
    with clip_tab:
        predict_tabs.clip_tab(model, index)
if live_tab.open:
    with live_tab:
        predict_tabs.live_tab(model)
if adapt_tab.open:
    with adapt_tab:
        predict_tabs.adapt_tab(model, index)
