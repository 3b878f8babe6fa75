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

    # A random forest is saved without pickle (plain arrays), so it loads from any folder, trusted or not.
    assert not list(trained.glob("*.joblib")) and not list(trained.glob("*.pkl"))
    assert main(["evaluate", "--model", str(trained), "--data", str(tiny_ravdess), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_clips"] == report["n_clips"]

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
    assert not (tmp_path / "arts" / "DEFAULT").exists()  # shipping the study's models leaves the default alone
    assert main(["predict", str(sorted(tiny_ravdess.glob("*/*.wav"))[0]), "--model",
                 str(tmp_path / "arts" / "study-cnn"), "--json"]) == 0


# ---------------------------------------------------------------- predict --speaker-adapt (issue 5)
@pytest.fixture
def two_actors(tmp_path, ravdess_16k):
    """Six clips of each of actors 01 and 02, linked into one folder per actor."""
    for actor in ("01", "02"):
        folder = tmp_path / "clips" / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for path in sorted((ravdess_16k / f"Actor_{actor}").glob("*.wav"))[::10][:6]:
            (folder / path.name).symlink_to(path)
    return tmp_path / "clips"


@pytest.mark.parametrize("speaker_of", ["auto", "ravdess", "folder"])
def test_predict_speaker_adapt_groups_by_speaker(adaptive_models, two_actors, capsys, speaker_of):
    from conftest import TINY_ADAPTIVE_MODEL

    code = main(["predict", str(two_actors), "--model", str(adaptive_models / TINY_ADAPTIVE_MODEL),
                 "--json", "--speaker-adapt", "--speaker-of", speaker_of])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 12
    assert all(line["adapted"] is True and line["label"] in line["probabilities"] for line in lines)
    speakers = [line["speaker"] for line in lines]
    assert len(set(speakers[:6])) == 1 and len(set(speakers[6:])) == 1 and speakers[0] != speakers[6]
    if speaker_of != "folder":
        assert speakers[0] == "ravdess-actor-01"


def test_predict_speaker_adapt_text_output_and_a_lone_clip(adaptive_models, two_actors, tmp_path, capsys):
    from conftest import TINY_ADAPTIVE_MODEL

    lone = tmp_path / "me" / "hello.wav"
    lone.parent.mkdir()
    lone.symlink_to(next(two_actors.glob("Actor_01/*.wav")))
    code = main(["predict", str(two_actors / "Actor_02"), str(lone), "--model",
                 str(adaptive_models / TINY_ADAPTIVE_MODEL), "--speaker-adapt"])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert code == 0 and len(lines) == 7
    assert "ravdess-actor-02, adapted" in lines[0] and "too few clips" in lines[6]
    assert "warning:" in captured.err and "at least 2" in captured.err


def test_predict_prior_clips_changes_the_adapted_probabilities(adaptive_models, two_actors, capsys):
    from conftest import TINY_ADAPTIVE_MODEL

    runs = []
    for prior in ("0", "4"):
        assert main(["predict", str(two_actors), "--model", str(adaptive_models / TINY_ADAPTIVE_MODEL),
                     "--json", "--speaker-adapt", "--prior-clips", prior]) == 0
        runs.append([json.loads(line)["probabilities"] for line in capsys.readouterr().out.splitlines()])
    assert runs[0] != runs[1]
    assert main(["predict", str(two_actors), "--speaker-adapt", "--prior-clips", "-1", "--model",
                 str(adaptive_models / TINY_ADAPTIVE_MODEL)]) == 2
    assert "prior_clips must be >= 0" in capsys.readouterr().err


def test_predict_speaker_adapt_refuses_a_model_without_an_adapted_head(trained, two_actors, capsys):
    code = main(["predict", str(two_actors), "--model", str(trained), "--trust", "--speaker-adapt"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot be adapted to a speaker" in err and "adaptive_linear" in err and "Traceback" not in err


def test_train_with_augmentation_records_it(tiny_ravdess, tmp_path, capsys):
    out = tmp_path / "models" / "lr-aug"
    assert main(["train", "--data", str(tiny_ravdess), "--model", "logistic_regression", "--features", "MFCC-16000-13",
                 "--protocol", "holdout", "--test-actors", "3", "--augment", "speed0.9,pitch2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["config"]["data"]["augment"] == ["speed0.9", "pitch2"]
    assert config["training"]["n_augmented_clips"] == 2 * config["training"]["n_fit_clips"]


def test_train_with_an_unknown_augmentation_is_a_clear_error(tiny_ravdess, tmp_path, capsys):
    code = main(["train", "--data", str(tiny_ravdess), "--model", "logistic_regression", "--features", "MFCC-16000-13",
                 "--augment", "reverb", "--out", str(tmp_path / "x")])
    assert code == 2
    assert "unknown augmentation 'reverb'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- your own data
def test_train_cross_corpus_then_evaluate_predict_csv_and_compare(tiny_ravdess, tiny_emodb, tmp_path, capsys):
    import csv
    import io

    out = tmp_path / "models" / "ravdess-lr"
    assert main(["train", "--data", str(tiny_ravdess), "--model", "logistic_regression", "--features",
                 "MFCC-16000-13", "--protocol", "kfold", "--folds", "3", "--also", "cross_corpus",
                 "--test-data", str(tiny_emodb), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "another corpus (emodb, 6 shared labels)" in printed
    assert "left out 4 clips whose label the model does not know (boredom 4)" in printed

    assert main(["evaluate", "--model", str(out), "--data", str(tiny_emodb), "--trust"]) == 0
    text = capsys.readouterr().out
    assert "compared on 6 shared labels (neutral, happy, sad, angry, fearful, disgust)" in text
    assert "not offered: calm, surprised" in text and "boredom" not in text.split("\n\n", 1)[1]

    clip = sorted(tiny_emodb.rglob("*.wav"))[0]
    assert main(["predict", str(clip), "--model", str(out), "--trust", "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["row"] == "clip" and f"prob_{rows[0]['label']}" in rows[0]
    table = tmp_path / "out" / "predictions.csv"
    assert main(["predict", str(tiny_emodb), "--model", str(out), "--trust", "--csv", str(table)]) == 0
    captured = capsys.readouterr()
    assert "wrote 28 rows" in captured.err and len(captured.out.splitlines()) == 28
    assert len(table.read_text().splitlines()) == 29

    assert main(["compare", "--root", str(out.parent)]) == 0
    text = capsys.readouterr().out
    within, cross = text.split("tested on corpora it was not trained on")
    assert "new speakers (3-fold by speaker)" in within and "another corpus" not in within
    assert "another corpus (emodb, 6 shared labels)" in cross and "left out: 4 clips" in cross


def test_train_strict_leakage_stops_with_an_error(tiny_ravdess, tmp_path, capsys):
    out = tmp_path / "models" / "leaky"
    assert main(["train", "--data", str(tiny_ravdess), "--model", "logistic_regression", "--features",
                 "MFCC-16000-13", "--protocol", "random", "--strict-leakage", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "warning: leakage (random): 3 of 3 speakers" in err and "error: the leakage check found" in err
    assert not out.exists()


def test_predict_csv_of_a_long_recording_has_segments_and_a_summary(app_models, tmp_path, capsys):
    import csv
    import io

    import numpy as np
    import soundfile as sf

    from conftest import speechlike

    long_clip = tmp_path / "long.wav"
    sf.write(long_clip, np.concatenate([speechlike(duration_s=3.0, seed=s) for s in range(22)]), 16000)
    assert main(["predict", str(long_clip), "--model", str(app_models / "tiny-logreg"), "--trust",
                 "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {row["row"] for row in rows[:-1]} == {"segment"} and rows[-1]["row"] == "summary"
    assert rows[0]["start_s"] == "0.0" and rows[0]["end_s"] == "3.0" and float(rows[-1]["end_s"]) > 60


def test_train_leave_one_corpus_out_prints_each_corpus_and_compare_shows_them(tiny_corpora, tmp_path, capsys):
    out = tmp_path / "models" / "loco"
    assert main(["train", "--data", str(tiny_corpora), "--model", "logistic_regression", "--features", "MFCC-16000-13",
                 "--protocol", "loco", "--folds", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "new speakers (3-fold by speaker): accuracy" in text
    assert "speech it was not trained on: leave one corpus out (3 corpora): accuracy" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert set(lines) == {"a", "b", "c"} and "12 clips" in lines["c"] and "(shared: happy, sad)" in lines["c"]
    assert main(["compare", "--root", str(out.parent)]) == 0
    within, cross = capsys.readouterr().out.split("tested on corpora it was not trained on")
    assert "leave one corpus out" not in within and "left out: 6 clips" in cross
    assert [line.split()[0] for line in cross.splitlines()[2:5]] == ["a", "b", "c"]
