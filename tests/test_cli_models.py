"""End-to-end tests of the train/evaluate/predict/compare/reproduce commands."""

import json

import pytest

from ser_core.cli import main


@pytest.fixture
def trained(tiny_ravdess, tmp_path, capsys):
    out = tmp_path / "models" / "forest"
    assert main(["train", "--data", str(tiny_ravdess), "--model", "random_forest", "--features", "MFCC-16000-13",
                 "--protocol", "holdout", "--test-actors", "3", "--out", str(out)]) == 0
    assert "saved" in capsys.readouterr().out
    return out


@pytest.mark.slow
def test_train_evaluate_predict_compare(trained, tiny_ravdess, tmp_path, capsys):
    assert main(["evaluate", "--model", str(trained), "--data", str(tiny_ravdess), "--json", "--trust"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "uar", "macro_f1", "labels", "confusion", "per_class"} <= set(report)
    assert sum(map(sum, report["confusion"])) == report["n_clips"]

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF junk")
    clip = sorted(tiny_ravdess.glob("*/*.wav"))[0]
    code = main(["predict", str(clip), str(broken), "--model", str(trained), "--json", "--trust"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 2 and lines[0]["label"] in lines[0]["probabilities"] and "error" in lines[1]

    assert main(["evaluate", "--model", str(trained), "--data", str(tiny_ravdess)]) == 2
    assert "trust" in capsys.readouterr().err

    assert main(["compare", "--root", str(trained.parent), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["name"] == "forest" and rows[0]["protocol"] == "holdout"


@pytest.mark.slow
def test_reproduce_quick_reports_wav2vec2_as_not_run(tiny_ravdess, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "study.md"
    assert main(["reproduce", "--data", str(tiny_ravdess), "--quick", "--ship", "--out", str(out),
                 "--artifacts", str(tmp_path / "arts")]) == 0
    text = out.read_text()
    assert "not run:" in text and "| CNN+LSTM |" in text and "--quick" in text
    assert (tmp_path / "arts" / "DEFAULT").is_file()
    assert main(["predict", str(sorted(tiny_ravdess.glob("*/*.wav"))[0]), "--model",
                 str(tmp_path / "arts" / "study-cnn"), "--json"]) == 0
