"""The Model comparison page in AppTest: table, chart, the study's figures, details, side by side."""

import json
import shutil

from app_support import TINY_MODEL, open_page, problems


def _page():
    return open_page("comparison")


def test_table_chart_study_figures_and_detail(app_env):
    at = _page()
    assert problems(at) == []
    table = at.dataframe[0].value
    assert list(table["name"]) == [TINY_MODEL]
    assert table["accuracy"].between(0, 1).all() and table["latency_ms"].notna().all()
    study = at.dataframe[1].value
    assert list(study.columns) == ["model", "study: train acc", "study: test acc", "study: macro F1"]
    assert list(study["model"]) == ["LSTM", "CNN", "CNN+LSTM", "Wav2Vec2 + RF"]
    assert study.loc[study["model"] == "CNN+LSTM", "study: test acc"].item() == 0.6389
    assert any("reported by the study (random split)" in c.value for c in at.caption)
    labels = [m.label for m in at.metric]
    assert labels == ["Test accuracy", "UAR", "Macro F1"]
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # accuracy vs latency, confusion matrix
    report = at.dataframe[2].value
    assert set(report.columns) >= {"emotion", "precision", "recall", "f1", "support"}
    assert report["support"].sum() == 48  # k-fold: every clip tested once


def test_two_models_side_by_side(app_env, tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    shutil.copytree(app_env["artifacts"], root)
    shutil.copytree(root / TINY_MODEL, root / "tiny-copy")
    config = json.loads((root / "tiny-copy" / "config.json").read_text())
    config["name"] = "tiny-copy"
    (root / "tiny-copy" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(root))
    at = _page()
    assert problems(at) == []
    assert "Two models side by side" in [h.value for h in at.subheader]
    assert at.selectbox(key="left_model").value != at.selectbox(key="right_model").value
    assert len(at.metric) == 9


def test_broken_model_folder_is_reported_not_fatal(app_env, tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    shutil.copytree(app_env["artifacts"], root)
    (root / "half-saved").mkdir()
    (root / "half-saved" / "model.joblib").write_bytes(b"junk")
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(root))
    at = _page()
    assert [e.value for e in at.exception] == []
    assert "half-saved" in at.warning[0].value and "config.json is missing" in at.warning[0].value
    assert list(at.dataframe[0].value["name"]) == [TINY_MODEL]


def test_no_models_explains_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(tmp_path))
    at = _page()
    assert problems(at) == []
    assert "No trained model" in at.warning[0].value
