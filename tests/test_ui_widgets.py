"""ui.widgets: error display, pickers and the example clip, run inside AppTest."""

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui import widgets


def _errors_app(kind):
    import streamlit as st

    from ser_core.errors import DecodeError
    from ui.widgets import shown_errors

    with shown_errors("Could not read x.wav") as guard:
        if kind == "ser":
            raise DecodeError("x.wav is not audio")
        if kind == "bug":
            raise KeyError("oops")
        if kind == "stop":
            st.stop()
        st.write("fine")
    st.write(f"after: failed={guard.failed}")


@pytest.mark.parametrize(("kind", "error", "after"), [
    ("ser", "Could not read x.wav: x.wav is not audio", "after: failed=True"),
    # Messages are escaped Markdown (a visitor's file name must never become a link): "\(" shows as "(".
    ("bug", "Could not read x.wav: unexpected problem \\(KeyError: 'oops'\\). The details are in the server log.",
     "after: failed=True"),
    ("none", None, "after: failed=False"),
    ("stop", None, None),
])
def test_shown_errors(kind, error, after):
    at = AppTest.from_function(_errors_app, args=(kind,), default_timeout=60).run()
    assert at.exception == []
    assert [e.value for e in at.error] == ([error] if error else [])
    texts = [m.value for m in at.markdown]
    assert (after in texts) if after else not any(t.startswith("after") for t in texts)


CLIPS = pd.DataFrame({
    "path": ["/c/03-01-01-01-01-01-01.wav", "/c/03-01-05-01-01-01-01.wav", "/c/03-01-05-02-01-01-02.wav"],
    "label": ["neutral", "angry", "angry"], "intensity": ["normal", "normal", "strong"],
    "speaker": ["01", "01", "02"],
})


@pytest.mark.parametrize(("rows", "expected"), [
    ([0, 1, 2], "03-01-05-02-01-01-02.wav"),
    ([0, 1], "03-01-05-01-01-01-01.wav"),
    ([0], "03-01-01-01-01-01-01.wav"),
])
def test_example_clip_prefers_strong_anger(rows, expected):
    assert widgets.example_clip(CLIPS.iloc[rows]).name == expected


def _picker_app(clips):
    import streamlit as st

    from ui.widgets import audio_picker

    choice = audio_picker(key="k", clips=clips)
    st.write(f"choice: {choice.name if choice else None}")


def test_audio_picker_sources_and_corpus_filters():
    at = AppTest.from_function(_picker_app, args=(CLIPS,), default_timeout=60).run()
    assert at.radio(key="k_source").options == ["Upload", "Record", "Example", "Corpus clip"]
    at.radio(key="k_source").set_value("Corpus clip").run()
    at.selectbox(key="k_actor").set_value("02").run()
    assert at.selectbox(key="k_clip").options == ["03-01-05-02-01-01-02.wav"]
    assert "choice: 03-01-05-02-01-01-02.wav" in [m.value for m in at.markdown]
    at.selectbox(key="k_emotion").set_value("neutral").run()
    assert "choice: None" in [m.value for m in at.markdown]


def test_audio_picker_without_a_corpus_has_no_corpus_source():
    at = AppTest.from_function(_picker_app, args=(None,), default_timeout=60).run()
    assert at.radio(key="k_source").options == ["Upload", "Record", "Example"]
    at.file_uploader(key="k_upload").upload("a.wav", b"RIFF", "audio/wav").run()
    assert "choice: a.wav" in [m.value for m in at.markdown]


def test_emotion_chip_uses_the_emotion_colour():
    from ser_core.data.labels import emotion_color

    chip = widgets.emotion_chip("sad", score=0.25)
    assert emotion_color("sad") in chip and "sad · 25%" in chip


def test_emotion_chip_escapes_a_label_from_a_visitors_corpus():
    chip = widgets.emotion_chip('<img src=x onerror="alert(1)">', score=0.5)
    assert "<img" not in chip and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; · 50%" in chip


#: Every place that renders HTML, each reviewed: what it interpolates goes through
#: ``ser_core.formatting.html_text`` (directly or inside ``widgets.emotion_chip``).
HTML_CALL_SITES = {"app_pages/Dataset_explorer.py": 1, "app_pages/Feature_inspector.py": 1, "ui/model_detail.py": 1,
                   "ui/predict_tabs.py": 3, "ui/widgets.py": 1}


def test_html_is_rendered_only_at_reviewed_places():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = {}
    for path in [root / "app.py", *sorted((root / "app_pages").glob("*.py")), *sorted((root / "ui").glob("*.py"))]:
        count = len(re.findall(r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1\.html\(", path.read_text()))
        if count:
            found[path.relative_to(root).as_posix()] = count
    assert found == HTML_CALL_SITES, "a new place renders HTML: escape what it interpolates with html_text, then list it"
