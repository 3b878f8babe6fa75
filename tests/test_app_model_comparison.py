"""The Model comparison page in AppTest: table, chart, the study's figures, details, side by side."""

import json
import shutil

from app_support import TINY_MODEL, open_page, problems


def _page():
    return open_page("comparison")


def test_headline_glance_table_details_study_figures_and_detail(app_env):
    at = _page()
    assert problems(at) == []
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Best on new speakers (the default)"] == TINY_MODEL and metrics["Accuracy"].endswith("%")
    glance = at.dataframe[0].value
    assert list(glance.columns) == ["model", "accuracy", "UAR"], "model and the figures first; no constant column"
    assert list(glance["model"]) == [f"{TINY_MODEL} ★"]
    assert any("All tested on RAVDESS: new speakers (3-fold by speaker)" in c.value for c in at.caption)
    assert all("%" in cell and "±" in cell for cell in glance["accuracy"])
    details = at.dataframe[1].value
    assert "kfold" not in " ".join(details["protocol"]) and "None" not in details.to_string()
    study = at.dataframe[2].value
    assert list(study["system"]) == ["LSTM", "CNN", "CNN+LSTM", "Wav2Vec2 + RF", f"our default ({TINY_MODEL})"]
    assert study.loc[study["system"] == "CNN+LSTM", "study"].item() == "63.9%"
    assert any("random 80/20 split" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")][:1] == ["Download the stakeholder report (HTML)"]
    report = at.dataframe[3].value
    assert set(report.columns) >= {"emotion", "precision", "recall", "f1", "support"}
    assert report["support"].sum() == 48  # k-fold: every clip tested once
    assert not any("issue" in m.value.lower() and "(issue" in m.value for m in at.markdown)


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
    assert at.selectbox(key="detail_model").value[0] == TINY_MODEL, "'Per model' opens on the default"
    assert len(at.metric) == 3 + 3 * 3


def test_broken_model_folder_is_reported_not_fatal(app_env, tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    shutil.copytree(app_env["artifacts"], root)
    (root / "half-saved").mkdir()
    (root / "half-saved" / "model.joblib").write_bytes(b"junk")
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(root))
    at = _page()
    assert [e.value for e in at.exception] == []
    assert "half-saved" in at.warning[0].value and "config.json is missing" in at.warning[0].value
    assert list(at.dataframe[0].value["model"]) == [f"{TINY_MODEL} ★"]


def test_no_models_explains_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(tmp_path))
    at = _page()
    assert problems(at) == []
    assert "No trained model" in at.warning[0].value
