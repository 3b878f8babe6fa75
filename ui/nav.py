"""The dashboard's pages, listed once: app.py's navigation, the Home cards and the tests read this list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PageInfo:
    """One page: its script, title, Material icon, URL path (``""``: the app's root) and summary."""

    path: str
    title: str
    icon: str
    url_path: str
    summary: str


#: The studio's favicon (every page's, set before any page runs).
FAVICON = Path(__file__).resolve().parent / "assets" / "icon.png"

HOME = PageInfo("app_pages/home.py", "Home", ":material/graphic_eq:", "",
                "What the studio does, its corpus and models, and the way to a first prediction.")

PAGES = (
    PageInfo("app_pages/Dataset_explorer.py", "Dataset explorer", ":material/dataset:", "Dataset_explorer",
             "Counts by emotion, actor and gender; play any clip; see the study's preprocessing."),
    PageInfo("app_pages/Feature_inspector.py", "Feature inspector", ":material/equalizer:", "Feature_inspector",
             "MFCCs, deltas, mel spectrograms, eGeMAPS, pitch, and a map of the whole corpus."),
    PageInfo("app_pages/Model_comparison.py", "Model comparison", ":material/leaderboard:", "Model_comparison",
             "Accuracy, UAR and latency of every model, speaker-independent and the study's split."),
    PageInfo("app_pages/Training.py", "Training", ":material/model_training:", "Training",
             "Train a model in the background, watch its curves live, then compare it."),
    PageInfo("app_pages/Predict.py", "Predict", ":material/mic:", "Predict",
             "Upload, record or stream from the microphone; emotion over time for long clips."),
)
"""The pages after Home, in menu order."""

BY_TITLE = {page.title: page for page in PAGES}


def navigation():
    """``st.navigation`` over Home and :data:`PAGES`: the sidebar menu and each page's URL; returns the page to run.

    Call it once per run, from the entry point (app.py), then ``.run()`` what it returns.
    """
    import streamlit as st

    # The studio's own favicon before any page runs: a page's Material icon would otherwise
    # become the favicon, which the browser fetches from Google's servers (offline: an error).
    st.set_page_config(page_icon=str(FAVICON))
    return st.navigation([st.Page(page.path, title=page.title, icon=page.icon, url_path=page.url_path,
                                  default=page is HOME) for page in (HOME, *PAGES)])
