"""The dashboard's pages: one list that the navigation, the Home cards and the tests share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page: its script, title, Material icon, URL path (Streamlit's, from the file name) and summary."""

    path: str
    title: str
    icon: str
    url_path: str
    summary: str


HOME_PATH = "app.py"
HOME_ICON = ":material/graphic_eq:"

PAGES = (
    PageInfo("pages/1_Dataset_explorer.py", "Dataset explorer", ":material/dataset:", "Dataset_explorer",
             "Counts by emotion, actor and gender; play any clip; see the study's preprocessing."),
    PageInfo("pages/2_Feature_inspector.py", "Feature inspector", ":material/equalizer:", "Feature_inspector",
             "MFCCs, deltas, mel spectrograms, eGeMAPS, pitch, and a map of the whole corpus."),
    PageInfo("pages/3_Model_comparison.py", "Model comparison", ":material/leaderboard:", "Model_comparison",
             "Accuracy, UAR and latency of every model, speaker-independent and the study's split."),
    PageInfo("pages/4_Training.py", "Training", ":material/model_training:", "Training",
             "Train a model in the background, watch its curves live, then compare it."),
    PageInfo("pages/5_Predict.py", "Predict", ":material/mic:", "Predict",
             "Upload, record or stream from the microphone; emotion over time for long clips."),
)

BY_TITLE = {page.title: page for page in PAGES}
