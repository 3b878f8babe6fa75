"""ser_core.reporting.summary: a model in plain words, every figure read from its folder, for any default."""

import json
import shutil

import pytest

from ser_core.modelfolder.results import ModelMetrics
from ser_core.reporting.summary import plain_summary

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def _per_class(recalls):
    return {label: {"precision": 0.5, "recall": recall, "f1": 0.5, "support": 10} for label, recall in recalls.items()}


def _kfold(accuracy=0.734, uar=0.721):
    recalls = dict(zip(LABELS, [0.6, 0.8, 0.7, 0.41, 0.9, 0.7, 0.8, 0.8]))
    confusion = [[10 if i == j else 0 for j in range(8)] for i in range(8)]
    confusion[3][1] = 7  # sad taken for calm most often
    return {"folds": [{"accuracy": accuracy, "uar": uar}] * 5,
            "summary": {"accuracy": {"mean": accuracy, "std": 0.03, "n": 5}, "uar": {"mean": uar, "std": 0.04, "n": 5}},
            "pooled": {"labels": LABELS, "per_class": _per_class(recalls), "confusion": confusion},
            "settings": {"n_folds": 5}}


def _loco():
    def fold(corpus, uar, shared):
        return {"test_corpus": corpus, "accuracy": uar, "uar": uar, "macro_f1": uar, "n_test_clips": 100,
                "shared_labels": shared}
    folds = [fold("ravdess", 0.48, LABELS), fold("tess", 0.61, LABELS[:1] + LABELS[2:]),
             fold("savee", 0.44, LABELS[:1] + LABELS[2:]), fold("turev", 0.57, ["calm", "happy", "sad", "angry"])]
    mean = sum(f["uar"] for f in folds) / 4
    return {"folds": folds, "summary": {"accuracy": {"mean": mean, "n": 4}, "uar": {"mean": mean, "n": 4}},
            "settings": {"corpora": ["ravdess", "savee", "tess", "turev"]}}


def _artifact(protocols, training):
    return {"name": "the-default", "config": {"name": "the-default", "labels": sorted(LABELS), "training": training},
            "metrics": ModelMetrics.from_dict({"protocols": protocols})}


TODAY = _artifact({"kfold": _kfold(0.705, 0.696)}, {"corpus": "ravdess", "n_clips": 1199, "n_speakers": 20})
MULTI = _artifact({"kfold": _kfold(), "loco": _loco()},
                  {"corpus": "all", "corpora": {"ravdess": 1199, "savee": 480, "tess": 2800, "turev": 1735},
                   "n_clips": 6214, "n_speakers": 32})


def test_a_ravdess_only_default_says_it_was_never_tested_on_other_corpora():
    summary = plain_summary(TODAY)
    assert summary.lead == ("Recognises 8 emotions in acted English speech; right on 70.5% of clips from RAVDESS "
                            "speakers it never heard (chance 12.5%); not tested on other corpora.")
    assert "RAVDESS speakers only and has NOT been tested on other corpora" in summary.part("unseen").text
    assert "North American actors reading two fixed sentences" in summary.part("speech").text
    assert summary.part("recognises").text.endswith("neutral, calm, happy, sad, angry, fearful, disgust, surprised.")
    assert "UAR 69.6%" in summary.part("right").text and "12.5% by chance" in summary.part("right").text
    assert summary.part("weak").text == ("Least often right on sad (41% of its clips recognised) and neutral (60%); "
                                         "sad is most often taken for calm.")
    assert "languages other than English" in summary.part("untested").text


def test_a_multi_corpus_default_names_both_figures_each_corpus_and_its_languages():
    summary = plain_summary(MULTI)
    assert "right on 73.4% of clips from RAVDESS, SAVEE, TESS and TurEV-DB speakers it never heard" in summary.lead
    assert "mean UAR 52.5% on corpora it never heard" in summary.lead
    assert "acted English and Turkish speech" in summary.lead
    unseen = summary.part("unseen").text
    assert "(RAVDESS 48%, TESS 61%, SAVEE 44%, TurEV-DB 57%; chance 12%-25% on their shared emotions)" in unseen
    assert "TurEV-DB: actors saying single words" in summary.part("speech").text
    assert "languages other than English and Turkish" in summary.part("untested").text


def test_untested_and_unknown_models_promise_nothing():
    bare = plain_summary(_artifact({}, {"data": "my-corpus"}))
    assert "no evaluation figures" in bare.lead and bare.part("weak") is None
    assert "does not say what kind of speech" in bare.part("speech").text
    shared = plain_summary(_artifact({"random": {"summary": {"accuracy": {"mean": 0.9, "n": 1}}}}, {"corpus": "ravdess"}))
    assert "how it does on a new voice is unknown" in shared.lead


def test_markdown_and_html_escape_what_a_visitor_named():
    artifact = _artifact({"kfold": _kfold()}, {"data": "<script>x</script>*bold*"})
    assert "<script>" not in plain_summary(artifact).html()
    assert "\\*bold\\*" in plain_summary(artifact).markdown()


def test_a_folder_on_disk_reads_the_same_as_its_row(tmp_path):
    from ser_core.modelfolder.read import PROJECT_ARTIFACTS

    source = PROJECT_ARTIFACTS / "study-cnn"
    if not source.is_dir():
        pytest.skip("the shipped study-cnn folder is not here")
    folder = tmp_path / "study-cnn"
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    from_folder = plain_summary(folder)
    assert from_folder.model == "study-cnn" and str(len(config["labels"])) in from_folder.lead


def test_new_speaker_figures_name_the_corpus_they_were_measured_on():
    kfold = _kfold()
    kfold["pooled"]["n_clips"] = 1199  # scored on RAVDESS alone, although trained on four corpora
    loco = _loco()
    loco["settings"]["note"] = "RAVDESS left out cannot be scored: a member was trained on it"
    summary = plain_summary(_artifact({"kfold": kfold, "loco": loco}, MULTI["config"]["training"]))
    assert "right on 73.4% of clips from RAVDESS speakers it never heard" in summary.lead
    assert summary.part("right").text.startswith("On RAVDESS speakers it never heard (5-fold by speaker)")
    assert summary.part("unseen").text.endswith("RAVDESS left out cannot be scored: a member was trained on it.")


def test_a_routed_default_says_its_noisy_path_keeps_labels_but_was_not_scored():
    plain = plain_summary(MULTI).part("untested").text
    assert "noisy rooms or telephone audio" in plain
    routed = {**MULTI, "config": {**MULTI["config"], "members": [{"name": "cnn", "domain": {}}, {"name": "head"}]}}
    text = plain_summary(routed).part("untested").text
    assert "routes such recordings to a head trained on noisy copies" in text and "clean clips only" in text


def test_the_unseen_part_adds_the_figure_adapted_to_each_voice():
    adapted = _loco()
    adapted["summary"]["uar"]["mean"] = 0.612
    adapted["settings"]["enrolment"] = "all of each speaker's clips"
    summary = plain_summary(_artifact({"kfold": _kfold(), "loco": _loco(), "loco_speaker_adapted": adapted},
                                      MULTI["config"]["training"]))
    assert summary.part("unseen").text.endswith(
        "Adapted to each voice from all of each speaker's clips (emotions unknown): mean UAR 61.2%.")
    assert "Adapted to each voice" not in plain_summary(MULTI).part("unseen").text
