"""ser_core.reporting.comparison: one row per model and protocol, headlines, and the best model on new speakers."""

import pytest

from ser_core.modelfolder.results import ModelMetrics
from ser_core.reporting.comparison import best_on_new_speakers, comparison_rows, headline_rows, per_corpus_rows

from test_metrics import FIRST_RELEASE


def _artifact(name, metrics, model="cnn"):
    return {"name": name, "path": f"/x/{name}", "model": model, "features": "MFCC-16000-40",
            "config": {"training": {}}, "metrics": ModelMetrics.from_dict(metrics)}


def test_rows_carry_means_spreads_costs_and_plain_titles():
    rows = comparison_rows([_artifact("cnn-a", FIRST_RELEASE)], default_name="cnn-a")
    assert [row["protocol"] for row in rows] == ["kfold", "random"]
    first = rows[0]
    assert (first["accuracy"], first["accuracy_std"], first["latency_ms"], first["size_mb"]) == (0.5, 0.1, 4.2, 2.0)
    assert first["default"] and first["protocol_title"] == "new speakers (2-fold by speaker)"
    assert rows[1]["accuracy_std"] is None


def test_unreadable_folders_keep_a_row_with_the_error():
    rows = comparison_rows([{"name": "bad", "path": "/x/bad", "error": "config.json is missing"}])
    assert rows[0]["error"] == "config.json is missing" and rows[0]["protocol"] is None


def test_headline_prefers_new_speakers_and_the_best_is_found_there():
    better = {**FIRST_RELEASE, "protocols": {"kfold": {**FIRST_RELEASE["protocols"]["kfold"],
                                                       "summary": {"accuracy": {"mean": 0.6, "std": 0.05, "n": 2}}}}}
    random_only = {"protocols": {"random": FIRST_RELEASE["protocols"]["random"]}}
    rows = comparison_rows([_artifact("a", FIRST_RELEASE), _artifact("b", better), _artifact("c", random_only)])
    headline = headline_rows(rows)
    assert [(row["name"], row["protocol"]) for row in headline] == [("b", "kfold"), ("a", "kfold"), ("c", "random")]
    assert best_on_new_speakers(rows)["name"] == "b"
    assert best_on_new_speakers([row for row in rows if row["name"] == "c"]) is None


@pytest.mark.parametrize("column", ["accuracy", "uar", "macro_f1", "train_accuracy"])
def test_missing_figures_are_none_not_errors(column):
    rows = comparison_rows([_artifact("a", {"protocols": {"kfold": {"summary": {}}}})])
    assert rows[0][column] is None


def _corpus_fold(corpus, accuracy, uar, shared, left_out=0):
    return {"test_corpus": corpus, "accuracy": accuracy, "uar": uar, "macro_f1": uar, "n_test_clips": 10,
            "shared_labels": shared, "n_left_out": left_out}


LOCO = {"protocols": {
    "kfold": FIRST_RELEASE["protocols"]["kfold"],
    "loco": {"settings": {"corpora": ["savee", "tess"]},
             "folds": [_corpus_fold("savee", 0.3, 0.25, ["sad", "angry"]), _corpus_fold("tess", 0.5, 0.45, ["angry"], 4)],
             "summary": {"accuracy": {"mean": 0.4, "std": 0.1, "n": 2}, "uar": {"mean": 0.35, "std": 0.1, "n": 2},
                         "macro_f1": {"mean": 0.35, "std": 0.1, "n": 2}}}}}


def test_leave_one_corpus_out_rows_carry_the_mean_and_each_corpus():
    rows = comparison_rows([_artifact("multi", LOCO)])
    loco = next(row for row in rows if row["protocol"] == "loco")
    assert loco["cross_corpus"] and loco["speaker_independent"] and loco["accuracy"] == 0.4
    assert loco["protocol_title"] == "speech it was not trained on: leave one corpus out (2 corpora)"
    assert (loco["test_corpus"], loco["shared_labels"], loco["n_left_out"]) == \
        ("each left out in turn: savee, tess", "each corpus its own", 4)
    assert [row["protocol"] for row in headline_rows(rows)] == ["kfold"]
    table = per_corpus_rows(rows)
    assert [(row["corpus"], row["uar"]) for row in table] == [("savee", 0.25), ("tess", 0.45), ("mean of 2", 0.35)]
    assert table[0]["shared_labels"] == "sad, angry" and table[-1]["shared_labels"] == "each corpus its own"
    assert table[-1]["n_test_clips"] == 20 and per_corpus_rows([{"name": "x", "error": "bad"}]) == []


def test_figures_adapted_to_each_voice_are_kept_apart_from_single_clip_ones():
    adapted = {**LOCO["protocols"]["loco"], "settings": {"corpora": ["savee", "tess"],
                                                          "enrolment": "all of each speaker's clips"}}
    rows = comparison_rows([_artifact("multi", {"protocols": {**LOCO["protocols"], "loco_speaker_adapted": adapted}})])
    row = next(row for row in rows if row["protocol"] == "loco_speaker_adapted")
    assert row["cross_corpus"] and row["protocol_title"].startswith("speech it was not trained on, adapted to each voice")
    assert [row["protocol"] for row in headline_rows(rows)] == ["kfold"]
    names = [(row["name"], row["corpus"]) for row in per_corpus_rows(rows)]
    assert ("multi", "savee") in names and ("multi (adapted to each voice)", "savee") in names and len(names) == 6


def test_a_row_names_the_corpora_it_was_tested_on():
    """Figures on RAVDESS alone and on six corpora must not read as one test."""
    one = _artifact("one", FIRST_RELEASE)
    rows = comparison_rows([{**one, "config": {"training": {"corpus": "ravdess"}}}])
    assert rows[0]["tested_corpora"] == "RAVDESS"
    many = {**one, "config": {"training": {"corpora": {"tess": {}, "turev": {}}}}}
    assert comparison_rows([many])[0]["tested_corpora"] == "TESS, TurEV-DB"
    loco = comparison_rows([_artifact("multi", LOCO)])
    assert next(row for row in loco if row["protocol"] == "loco")["tested_corpora"] is None
