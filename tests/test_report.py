"""ser_core.reporting.report: the stakeholder report opens with the default in plain words, chance, and the study."""

import re

import pytest

from ser_core.reporting.comparison import comparison_rows
from ser_core.reporting.report import report_html
from ser_core.reporting.study_figures import STUDY_TITLE

from test_summary import MULTI, TODAY


def _report(artifact, **options):
    artifact = {**artifact, "path": "/x/the-default", "model": "ensemble", "features": "X"}
    return report_html(comparison_rows([artifact], default_name="the-default"), [artifact],
                       default_name="the-default", **options)


def _text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("</head>")[1]))


def test_the_first_screen_says_what_on_whom_how_often_and_against_what_chance():
    html = _report(TODAY)
    text = _text(html)
    assert text.index("In short") < text.index("The best model on new speakers") < text.index("Every model")
    assert STUDY_TITLE in text
    assert "right on 70.5% of clips from RAVDESS speakers it never heard (chance 12.5%); not tested on other corpora" in text
    assert "has NOT been tested on other corpora" in text
    assert "chance 12.5%" in text.split("Every model")[0]


def test_versions_are_an_appendix_at_the_end():
    text = _text(_report(TODAY))
    assert "Versions: ser_core" in text and text.index("Appendix") > text.index("The study's figures beside ours")
    assert "Versions" not in text[: text.index("Appendix")]


def test_the_versions_leave_out_a_package_not_installed(librosa_not_installed):
    from importlib import metadata

    real = metadata.version
    versions = _text(_report(TODAY)).split("Versions: ")[1]
    assert f"numpy {real('numpy')}" in versions and "librosa" not in versions


@pytest.mark.parametrize(("corpus", "expected"), [
    (None, "the default model, the-default, from RAVDESS (1,199 clips of 20 speakers)"),
    ({"title": "ravdess", "n_clips": 1199, "n_speakers": 20, "by_label": {"angry": 160}, "by_corpus": {"ravdess": 1199}},
     "RAVDESS: 1,199 clips of 20 speakers"),
])
def test_the_corpus_section_says_where_the_figures_come_from(corpus, expected):
    assert expected in _text(_report(TODAY, corpus=corpus))


def test_a_multi_corpus_default_quotes_both_figures_first():
    text = _text(_report(MULTI)).split("The best model on new speakers")[0]
    assert "right on 73.4% of clips from RAVDESS, SAVEE, TESS and TurEV-DB speakers it never heard" in text
    assert "mean UAR 52.5% on corpora it never heard" in text


def test_tables_scroll_inside_the_page_on_a_phone():
    html = _report(TODAY)
    assert html.count("<div class='table-wrap'><table>") == html.count("<table>")
    assert "@media (max-width: 600px)" in html
