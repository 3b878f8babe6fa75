"""Widgets and display helpers every page shares: page frame, error display, pickers, help boxes."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ser_core.errors import SERError
from ser_core.formatting import markdown_text
from ui import hosting, nav, paths

LOGGER = logging.getLogger(__name__)

#: Formats the audio uploaders accept (browsers record webm/ogg/m4a).
AUDIO_TYPES = ("wav", "mp3", "flac", "ogg", "m4a", "webm")

#: Session-state key of the corpus the user chose (shared by every page).
DATA_KEY = "ser_data_path"

#: The studio's styling. The empty element keeps it in the page's own elements: HTML of style tags
#: alone goes to Streamlit's event container, where it was missing at times (a card's table then
#: overflowed a phone's width); the element's container is hidden, so it takes no space.
_CSS = """
<style>
div[data-testid="stMetric"] {
    background: var(--secondary-background-color, #f4f6fa);
    border-radius: 0.6rem; padding: 0.7rem 0.9rem;
    border-left: 4px solid #d55e00;
}
[data-testid="stMetricValue"] :is(.stMarkdownEllipsis, p) {white-space: normal !important; overflow-wrap: anywhere;
                                                          text-overflow: clip; line-height: 1.2;}
.ser-chip {display:inline-block; padding:0.15rem 0.6rem; border-radius:1rem;
           font-weight:600; margin:0 0.2rem 0.2rem 0;}
@media (max-width: 640px) {h1 {font-size: 1.9rem !important;}}
.block-container {max-width: 100%; overflow-x: hidden;}
[data-testid="stMarkdownContainer"] table {display: block; max-width: min(100%, calc(100vw - 2.5rem)); overflow-x: auto;}
[data-testid="stMarkdownContainer"] :is(th, td) {overflow-wrap: anywhere;}
[data-testid="stElementContainer"]:has(.ser-style) {display: none;}
</style>
<div class="ser-style"></div>
"""

#: The browser-tab icon, a local file so the favicon needs no font CDN.


def page_setup(title: str, *, icon: str, intro: str | None = None) -> None:
    """Set the page config, the shared styling, the sidebar's mode note (below the page menu), a title and an intro."""
    hosting.hide_error_details()
    st.set_page_config(page_title=f"{title} · SER studio", page_icon=str(nav.FAVICON), layout="wide")
    st.html(_CSS)
    with st.sidebar:
        if hosting.is_public():
            st.caption(":material/public: **Public demo.** Your uploads and models stay private to this "
                       "browser tab and are deleted when you leave; the shipped models are read-only.")
        else:
            st.caption(":material/computer: **Local mode.** Any folder on this machine, every model family.")
    if hosting.is_public():
        hosting.sweep_scratch()
    st.title(f"{icon} {title}")
    if intro:
        st.caption(intro)


class shown_errors:
    """Context manager: a ``SERError`` becomes ``st.error(message)``; the page goes on.

    Anything else is shown as a short "unexpected problem" error (the traceback goes to
    the server log, never to the page). In public mode server paths are taken out of
    every message. ``failed`` tells the caller whether the block stopped early.
    """

    def __init__(self, what: str | None = None):
        self.what = what
        self.failed = False

    def __enter__(self) -> "shown_errors":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            return False
        if not isinstance(exc, Exception):
            # st.rerun, st.stop and st.switch_page raise BaseExceptions: let them through.
            return False
        self.failed = True
        prefix = f"{self.what}: " if self.what else ""
        if isinstance(exc, SERError):
            st.error(markdown_text(hosting.redact(f"{prefix}{exc}")), icon=":material/warning:")
        else:
            LOGGER.error("unexpected error%s\n%s", f" ({self.what})" if self.what else "",
                         "".join(traceback.format_exception(exc_type, exc, tb)))
            st.error(markdown_text(hosting.redact(f"{prefix}unexpected problem ({type(exc).__name__}: {exc}). "))
                     + "The details are in the server log.", icon=":material/report:")
        return True


def emotion_chip(label: str, *, score: float | None = None) -> str:
    """HTML for a coloured pill naming an emotion, with the model's score when given (the label escaped)."""
    from ser_core.formatting import html_text
    from ser_core.reporting.charts import emotion_palette
    from ser_core.reporting.colours import text_colour_on

    color = emotion_palette([label])[label]
    text = f"{label} · {score:.0%}" if score is not None else label
    return (f'<span class="ser-chip" style="background:{html_text(color)};color:{text_colour_on(color)}">'
            f'{html_text(text)}</span>')


def chart(fig, *, key: str, where=None) -> None:
    """A Plotly chart with its one-line text alternative under it (:func:`ser_core.reporting.charts.text_alternative`).

    ``where``: a column or container to draw in (default: the current one).
    """
    from ser_core.reporting.charts import text_alternative

    place = where if where is not None else st
    place.plotly_chart(fig, key=key)
    place.caption(f"Chart in words: {markdown_text(text_alternative(fig))}")


def audio(data, *, label: str, where=None, **options) -> None:
    """An audio player with a visible name above it (``st.audio`` takes no label of its own)."""
    place = where if where is not None else st
    place.caption(f":material/volume_up: Listen: {markdown_text(label)}")
    place.audio(data, **options)


# ---------------------------------------------------------------- the corpus

def current_data_path() -> Path | None:
    """The corpus this session chose, else the operator's ``$SER_DATA_DIR`` (and, in local mode, the dev corpus)."""
    chosen = st.session_state.get(DATA_KEY)
    if chosen:
        return Path(chosen)
    return paths.default_data_dir()


def describe_data_path(path: Path | None) -> str:
    """What a screen says about the corpus: its path in local mode, its origin in public mode."""
    if path is None:
        return "no corpus"
    if not hosting.is_public():
        return f"`{path}`"
    if hosting.scratch_root() in Path(path).parents:
        return "your uploaded zip"
    if paths.downloads_root() in (Path(path), *Path(path).parents):
        return "the RAVDESS download"
    return "the corpus this server provides"


def set_data_path(path: Path | str | None) -> None:
    """Remember the corpus path for every page of this session."""
    st.session_state[DATA_KEY] = str(path) if path else None


def load_current_corpus(*, quiet: bool = True):
    """Index the current corpus through the cache; None (and an explanation unless quiet) if absent."""
    from ui import cache

    path = current_data_path()
    if path is None:
        return None
    if not path.exists():
        if not quiet:
            st.warning(f"The corpus ({describe_data_path(path)}) is no longer there. Choose another one below.")
        return None
    with shown_errors("Could not index the corpus"):
        return cache.corpus_index(str(path))
    return None


#: How the clip table's columns are named on screen.
COLUMN_NAMES = {"path": "file", "label": "emotion", "duration_s": "duration (s)", "sample_rate": "sample rate (Hz)",
                "duplicate_of": "duplicate of", "n_samples": "samples"}


def readable_table(table):
    """A corpus table for people: plain column names, blanks instead of None or <NA>, empty columns left out."""
    import pandas as pd

    shown = table.loc[:, [column for column in table.columns if table[column].notna().any()
                          and not (table[column].astype(str) == "").all()]]
    shown = shown.rename(columns={column: COLUMN_NAMES.get(column, column.replace("_", " ")) for column in shown.columns})
    for column in shown.columns:
        if shown[column].isna().any():  # text with blanks; a full numeric column keeps its numbers (and sorting)
            shown[column] = shown[column].astype(object).where(shown[column].notna(), "").map(
                lambda value: "" if value is None or value is pd.NA else value)
    if "duration (s)" in shown and pd.api.types.is_float_dtype(shown["duration (s)"]):
        shown["duration (s)"] = shown["duration (s)"].round(2)
    return shown


def no_data_help(*, here: bool = False, needed_for: str | None = None) -> None:
    """One short line on how to get a corpus (``here``: on the Dataset explorer itself).

    ``needed_for``: what this page needs the corpus for (``"training"``), said instead of
    the pages that work without one.
    """

    if here:
        st.info("**No corpus loaded yet.** Upload a zip of one above or download RAVDESS with one click. "
                "Everything that needs only a model works without one.", icon=":material/info:")
        return
    if needed_for == "training":
        where = "upload a zip of labelled clips or download RAVDESS" if hosting.is_public() else \
            "choose a folder, a zip or a manifest, or download RAVDESS"
        st.info(f"**Training needs a corpus of labelled clips.** On the Dataset explorer, {where}; then come back "
                "here to train on it.", icon=":material/info:")
    else:
        st.info("**No corpus loaded.** Prediction and model comparison work without one.", icon=":material/info:")
    st.page_link(nav.BY_TITLE["Dataset explorer"].path, label="Load a corpus on the Dataset explorer",
                 icon=nav.BY_TITLE["Dataset explorer"].icon)


# ---------------------------------------------------------------- audio

@dataclass(frozen=True)
class AudioChoice:
    """Audio picked by the user: a display name and either bytes or a file path."""

    name: str
    data: bytes | None = None
    path: Path | None = None
    source: str = "upload"
    label: str | None = None
    """The clip's true label when it is known (an example or a corpus clip), shown beside the verdict."""

    def raw_bytes(self) -> bytes:
        """The file's bytes (read from disk for corpus clips)."""
        return self.data if self.data is not None else Path(self.path).read_bytes()

    def payload(self):
        """What the app's decoding cache takes: the path (as text) for corpus clips, else the bytes."""
        return str(self.path) if self.path is not None else self.data

    def size_bytes(self) -> int:
        """The file's size in bytes (a corpus clip is not read for it)."""
        return len(self.data) if self.data is not None else Path(self.path).stat().st_size


def audio_picker(*, key: str, sources: Sequence[str] = ("Upload", "Record", "Example", "Corpus clip"),
                 clips=None, label: str = "Audio source", model_config: dict | None = None) -> AudioChoice | None:
    """Radio between upload, browser recording, a shipped example and a corpus clip; return the choice or None.

    ``model_config``: the config of the model that will classify the clip; the examples its
    training never heard are offered first.
    """
    from ui import examples

    shipped = examples.examples()
    available = [s for s in sources if (s != "Corpus clip" or (clips is not None and len(clips)))
                 and (s != examples.SOURCE or shipped)]
    source = st.radio(label, available, horizontal=True, key=f"{key}_source")
    if source == examples.SOURCE:
        if model_config is not None:
            shipped = sorted(shipped, key=lambda example: examples.heard_in_training(example, model_config))
        return example_picker(shipped, key=key)
    if source == "Upload":
        uploaded = st.file_uploader("Audio file", type=list(AUDIO_TYPES), key=f"{key}_upload",
                                    help="wav, mp3, flac, ogg, m4a or webm")
        if uploaded is not None:
            return AudioChoice(name=uploaded.name, data=uploaded.getvalue(), source="upload")
    elif source == "Record":
        recorded = st.audio_input("Record a few seconds of speech", key=f"{key}_record", sample_rate=16000)
        if recorded is not None:
            return AudioChoice(name="recording.wav", data=recorded.getvalue(), source="record")
    elif source == "Corpus clip":
        return corpus_clip_picker(clips, key=key)
    return None


def corpus_clip_picker(clips, *, key: str) -> AudioChoice | None:
    """Pick one clip of a corpus table by label, speaker and file name."""
    from ser_core.reporting.charts import emotion_order

    cols = st.columns(3)
    emotions = emotion_order(clips["label"].astype(str).unique())
    actors = sorted(clips["speaker"].astype(str).unique())
    emotion = cols[0].selectbox("Emotion", ["any"] + emotions, key=f"{key}_emotion")
    actor = cols[1].selectbox("Actor", ["any"] + actors, key=f"{key}_actor")
    shown = clips
    if emotion != "any":
        shown = shown[shown["label"].astype(str) == emotion]
    if actor != "any":
        shown = shown[shown["speaker"].astype(str) == actor]
    if shown.empty:
        cols[2].selectbox("Clip", ["(no clip matches)"], disabled=True, key=f"{key}_clip_none")
        return None
    names = [Path(p).name for p in shown["path"]]
    name = cols[2].selectbox("Clip", names, key=f"{key}_clip")
    row = shown.iloc[names.index(name)]
    path = Path(row["path"])
    true_label = row.get("label")
    return AudioChoice(name=path.name, path=path, source="corpus",
                       label=str(true_label) if isinstance(true_label, str) and true_label else None)


def example_picker(shipped, *, key: str) -> AudioChoice | None:
    """Pick one of the shipped examples (:mod:`ui.examples`); its attribution and licence below."""
    titles = [example.title for example in shipped]
    title = st.selectbox("Example clip", titles, key=f"{key}_example",
                         help="Short acted clips from speakers left out of the default model's training.")
    example = shipped[titles.index(title)]
    st.caption(example.credit)
    return AudioChoice(name=example.path.name, path=example.path, source="example", label=example.label)


def clip_description(row) -> str:
    """One line about a corpus clip, leaving out what its corpus does not say (speaker, intensity, statement)."""
    import pandas as pd

    def known(value) -> bool:
        return not pd.isna(value) and str(value) not in ("unknown", "unspecified", "")

    parts = []
    if known(row.get("speaker")):
        parts.append(f"speaker {row['speaker']}" + (f" ({row['gender']})" if known(row.get("gender")) else ""))
    if known(row.get("intensity")):
        parts.append(f"{row['intensity']} intensity")
    if known(row.get("statement")):
        parts.append(f"statement {row['statement']}")
    if known(row.get("duration_s")):
        parts.append(f"{row['duration_s']:.2f} s")
    return ", ".join(parts)


def cross_corpus_input(*, key: str = "train_test_data") -> str:
    """The other corpus of the cross-corpus protocol: a folder, zip or manifest on this machine (stripped text)."""
    typed = st.text_input("Test corpus (cross-corpus protocol)", key=key,
                          placeholder="/data/emodb or /data/mine/clips.csv",
                          help="Train on the current corpus and test on this one, on the labels both share: a "
                               "known corpus, one folder per label, a zip, or a CSV/Parquet manifest with columns "
                               "path,label. Clips of labels the model does not learn are left out and counted.")
    return typed.strip()


def example_clip(clips) -> AudioChoice:
    """A clear example from the corpus: a strong 'angry' clip, else any 'angry' one, else the first."""
    angry = clips[clips["label"] == "angry"]
    strong = angry[angry["intensity"] == "strong"]
    path = Path(next(t for t in (strong, angry, clips) if len(t))["path"].iloc[0])
    return AudioChoice(name=path.name, path=path, source="corpus")


def queue_shipped_example(example, *, key: str = "predict") -> None:
    """Preselect a shipped example (:class:`ui.examples.Example`) in the audio picker ``key`` (before switching page)."""
    from ui import examples

    st.session_state[f"{key}_source"] = examples.SOURCE
    st.session_state[f"{key}_example"] = example.title


def queue_example(choice: AudioChoice, *, key: str = "predict") -> None:
    """Preselect a corpus clip in the audio picker called ``key`` (used before switching page)."""
    st.session_state[f"{key}_source"] = "Corpus clip"
    st.session_state[f"{key}_emotion"] = "any"
    st.session_state[f"{key}_actor"] = "any"
    st.session_state[f"{key}_clip"] = choice.name


# ---------------------------------------------------------------- models

def model_roots() -> list[Path]:
    """Folders of model folders this visitor may use: the shared one, plus their own in public mode."""
    from ser_core.modelfolder.read import artifacts_root

    roots = [artifacts_root()]
    if hosting.is_public():
        roots.append(hosting.scratch_dir("models"))
    return roots


def available_models():
    """Every readable model folder this visitor may use, as a table (shared ones first)."""
    import pandas as pd

    from ui import cache

    tables = [cache.artifacts(root).assign(mine=index > 0) for index, root in enumerate(model_roots())]
    tables = [table for table in tables if not table.empty]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def model_picker(*, key: str, label: str = "Model") -> Path | None:
    """Choose a usable model folder (default: the shipped default); None when there is none."""
    from ser_core.modelfolder.read import artifacts_root

    from ui import tables

    artifacts = available_models()
    if artifacts.empty or ("error" in artifacts and artifacts["error"].notna().all()):
        return None
    usable = artifacts[artifacts["error"].isna()] if "error" in artifacts else artifacts
    names = list(usable["name"])
    default = tables.default_name(artifacts_root())
    index = names.index(default) if default in names else 0

    def _describe(name: str) -> str:
        row = usable[usable["name"] == name].iloc[0]
        suffix = " (default)" if name == default else (" (yours)" if row.get("mine") else "")
        return f"{name}{suffix}"

    name = st.selectbox(label, names, index=index, format_func=_describe, key=key)
    return Path(usable[usable["name"] == name]["path"].iloc[0])


def no_model_help() -> None:
    """Explain that there is no trained model yet and how to get one."""
    st.warning("No trained model is available yet. Train one on the **Training** page"
               + ("" if hosting.is_public() else ", or run `python -m ser_core build-default`") + ".",
               icon=":material/warning:")
