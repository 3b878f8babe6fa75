"""The landing page (app.py runs Home): content, the one-click example, no data, a light import, the page list."""

import json
import subprocess
import sys

from streamlit.testing.v1 import AppTest

from app_support import PAGES, REPO, TINY_MODEL, problems
from conftest import NOT_HOSTED


def test_home_shows_data_models_and_example_button(app_env):
    at = AppTest.from_file(str(PAGES["home"]), default_timeout=60).run()
    assert problems(at) == []
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Corpus"] == "RAVDESS"
    assert metrics["Clips"] == "48"
    assert metrics["Speakers"] == "3"
    assert TINY_MODEL in " ".join(m.value for m in [*at.markdown, *at.caption])
    assert [b.label for b in at.button] == ["Classify an example clip"]
    assert not any("about 70%" in m.value for m in at.markdown)


def test_example_button_opens_predict_with_a_shipped_example_and_its_true_label(app_env):
    from ui import examples

    at = AppTest.from_file(str(PAGES["home"]), default_timeout=60).run()
    at.button(key="home_example").click().run()
    assert problems(at) == []
    assert at.session_state["predict_source"] == "Example"
    from ser_core.modelfolder.read import default_model_dir, read_config

    config = read_config(default_model_dir())
    first_unheard = next(e for e in examples.examples() if not examples.heard_in_training(e, config))
    assert at.session_state["predict_example"] == first_unheard.title, "a voice the default never heard first"
    assert any("ser-chip" in m.value for m in at.markdown), "the prediction is shown"
    assert any(m.value.startswith(("✓", "✗")) for m in at.markdown), "the true label is shown beside the verdict"


def test_home_without_data_or_models_still_renders(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(tmp_path / "no-artifacts"))
    at = AppTest.from_file(str(PAGES["home"]), default_timeout=60).run()
    assert problems(at) == []
    assert "No corpus loaded" in " ".join(i.value for i in at.info)
    assert "No trained model" in " ".join(w.value for w in at.warning)
    assert at.button == [] or [b.label for b in at.button] == []


def test_home_opens_with_the_default_in_plain_words(app_env):
    from ser_core.reporting.summary import plain_summary

    at = AppTest.from_file(str(PAGES["home"]), default_timeout=60).run()
    text = [m.value for m in at.markdown]
    from ser_core.modelfolder.read import list_artifacts

    summary = plain_summary(list_artifacts()[0])
    assert text[0] == f"**{summary.lead}**", "the summary comes first"
    assert "has NOT been tested on other corpora" in text[1] and "by chance" in text[1]
    table = at.dataframe[0].value
    assert list(table.columns) == ["model", "accuracy", "UAR"], "a column identical in every row is a caption"
    assert [name for name in table["model"] if name.endswith("★")] == [f"{TINY_MODEL} ★"]


_LIGHT_CHILD = """
import json, sys
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest
exceptions = []
for page in {pages!r}:
    at = AppTest.from_file({app!r}, default_timeout=120)
    if page:
        at.switch_page(page)
    exceptions += [e.value for e in at.run().exception]
print(json.dumps({{"exceptions": exceptions, "heavy": sorted(m for m in {not_hosted!r} if m in sys.modules)}}))
"""


def test_no_page_imports_what_only_the_training_install_has(app_env, monkeypatch):
    """Home and every page the hosted install serves open without torch, TensorFlow, librosa, onnx or Dask."""
    monkeypatch.delenv("SER_DASK_SCHEDULER", raising=False)
    pages = ["", *(str(PAGES[name].relative_to(REPO)) for name in ("dataset", "features", "comparison", "predict",
                                                                    "training"))]
    code = _LIGHT_CHILD.format(repo=str(REPO), app=str(PAGES["home"]), pages=pages, not_hosted=NOT_HOSTED)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True, timeout=600)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"exceptions": [], "heavy": []}


#: Every page's URL path (the browser tests, bench/ and the README open these) and its menu title.
URLS = [("", "Home"), ("Dataset_explorer", "Dataset explorer"), ("Feature_inspector", "Feature inspector"),
        ("Model_comparison", "Model comparison"), ("Training", "Training"), ("Predict", "Predict")]


def test_one_page_list_gives_the_menu_and_the_urls():
    from ui import nav

    pages = (nav.HOME, *nav.PAGES)
    assert [(page.url_path, page.title) for page in pages] == URLS
    assert all((REPO / page.path).is_file() for page in pages)


def test_app_py_runs_the_page_the_navigation_picks(app_env):
    from ui import nav

    at = AppTest.from_file(str(PAGES["home"]), default_timeout=60).run()
    assert [title.value for title in at.title] == [f"{nav.HOME.icon} Speech emotion recognition studio"]
    at.switch_page(nav.BY_TITLE["Training"].path).run()
    assert problems(at) == []
    assert [title.value for title in at.title] == [f"{nav.BY_TITLE['Training'].icon} Training"]


def test_no_pages_folder_for_streamlit_to_serve_on_its_own():
    # Streamlit serves a folder named pages/ with its older file-based navigation when a fresh
    # server's first visitor opens a deep link (/Predict): the menu then lists "app" and "home".
    from app_support import REPO

    assert not (REPO / "pages").exists()
    from ui import nav

    assert all((REPO / page.path).is_file() for page in (nav.HOME, *nav.PAGES))


_HOME_IMPORTS_CHILD = """
import json, sys
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest
from ui import cache
cache.warm_up = lambda: None  # what Home's own run imports, without the background warm-up that follows it
at = AppTest.from_file({app!r}, default_timeout=120).run()
print(json.dumps({{"exceptions": [e.value for e in at.exception], "charts": len(at.get("plotly_chart")),
                   "loaded": sorted(m for m in {modules!r} if m in sys.modules)}}))
"""
#: What Home does not need: its chart is built with plotly.graph_objects, and no model is loaded to draw it.
NOT_ON_HOME = ("plotly.express", "sklearn", "scipy", "onnxruntime", "aiortc")


def test_home_draws_its_chart_without_plotly_express_scikit_learn_or_onnxruntime(app_env):
    code = _HOME_IMPORTS_CHILD.format(repo=str(REPO), app=str(PAGES["home"]), modules=NOT_ON_HOME)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"exceptions": [], "charts": 1, "loaded": []}


def test_an_examples_caption_says_how_often_the_model_was_right_on_its_corpus_left_out():
    from ui import examples

    example = examples.examples()[0]
    rows = [{"corpus": "tess", "uar": 0.9}, {"corpus": example.corpus, "uar": 0.435,
                                               "shared_labels": ["angry", "calm", "happy", "sad"]}]
    record = examples.track_record(example, rows)
    assert "left out of its training" in record and "43.5%" in record and "chance 25%" in record
    assert examples.track_record(example, [{"corpus": "tess", "uar": 0.9}]) is None
    assert examples.track_record(example, None) is None
