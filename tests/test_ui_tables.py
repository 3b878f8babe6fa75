"""ui.tables: flattening model folders' metrics for the pages."""

import numpy as np
import pandas as pd
import pytest

from ui import tables


def _fold(confusion, labels=("angry", "sad")):
    confusion = np.asarray(confusion)
    acc = np.trace(confusion) / confusion.sum()
    return {"labels": list(labels), "confusion": confusion.tolist(), "accuracy": acc}


ARTIFACT = {
    "name": "cnn-a", "path": "/x/cnn-a", "model": "cnn", "features": "MFCC-16000-40",
    "config": {"training": {"total_time_s": 12.0}},
    "metrics": {
        "n_parameters": 166984, "size_bytes": 2_000_000, "training_time_s": 10.5,
        "latency_ms_per_3s_clip": 4.2,
        "protocols": {
            "kfold": {"description": "speaker-independent 2-fold by actor",
                      "summary": {"accuracy": {"mean": 0.5, "std": 0.1, "n": 2},
                                  "uar": {"mean": 0.45, "std": 0.05, "n": 2},
                                  "macro_f1": {"mean": 0.4, "std": 0.02, "n": 2}},
                      "folds": [_fold([[2, 0], [1, 1]]), _fold([[1, 1], [0, 2]])]},
            "random": {"description": "random split", "summary": {"accuracy": {"mean": 0.7, "std": 0.0}}},
        },
    },
}


def test_one_row_per_protocol_with_means_stds_and_costs():
    table = tables.comparison_table([ARTIFACT], default_name="cnn-a")
    assert list(table["protocol"]) == ["kfold", "random"]
    row = table.iloc[0]
    assert (row["accuracy"], row["accuracy_std"], row["uar"]) == (0.5, 0.1, 0.45)
    costs = (row["n_parameters"], row["size_mb"], row["training_time_s"], row["latency_ms"])
    assert costs == (166984, 2.0, 10.5, 4.2)
    assert row["default"] and row["protocol_description"] == "speaker-independent 2-fold by actor"
    assert np.isnan(table.iloc[1]["uar"])


@pytest.mark.parametrize("broken", [
    {"name": "bad", "path": "/x/bad", "error": "config.json is missing"},
    {"name": "bad", "path": "/x/bad", "error": "config.json is missing", "metrics": float("nan"),
     "config": float("nan")},
])
def test_unreadable_folders_keep_a_row_with_the_error(broken):
    table = tables.comparison_table([broken])
    assert list(table["error"]) == ["config.json is missing"] and table["protocol"].isna().all()


def test_k_fold_confusions_are_summed_and_per_class_recomputed():
    evaluation = tables.detailed_evaluation(ARTIFACT["metrics"]["protocols"]["kfold"])
    assert evaluation["confusion"] == [[3, 1], [1, 3]]
    assert evaluation["per_class"]["angry"]["recall"] == 0.75 and evaluation["accuracy"] == 0.75
    assert tables.detailed_evaluation(ARTIFACT["metrics"]["protocols"]["random"]) is None


def test_segment_timeline_keeps_silent_windows_empty():
    entries = [{"start_s": 0.0, "end_s": 3.0, "label": "sad", "probabilities": {"sad": 0.8, "angry": 0.2}},
               {"start_s": 1.0, "end_s": 4.0, "label": None, "probabilities": None, "error": "silent"}]
    timeline = tables.segment_timeline(entries)
    assert list(timeline["time_s"]) == [1.5, 2.5]
    assert timeline.loc[0, "sad"] == 0.8 and np.isnan(timeline.loc[1, "sad"])


def test_study_table_is_the_spec_and_is_labelled():
    assert tables.STUDY_LABEL == "reported by the study (random split)"
    assert dict(zip(tables.STUDY_RESULTS["model"], tables.STUDY_RESULTS["accuracy"])) == {
        "LSTM": 0.2188, "CNN": 0.4618, "CNN+LSTM": 0.6389, "Wav2Vec2 + RF": 0.4861}


def test_default_name_and_model_card(app_models, tmp_path):
    assert tables.default_name(app_models) == "tiny-logreg"
    assert tables.default_name(tmp_path) is None
    assert tables.model_card(app_models / "tiny-logreg").startswith("# tiny-logreg")
    assert tables.model_card(tmp_path) is None


def test_study_comparison_puts_ours_beside_the_study_random_split_first():
    table = tables.comparison_table([ARTIFACT, {**ARTIFACT, "name": "svm-a", "model": "svm"}])
    side = tables.study_comparison(table)
    assert list(side.columns) == [
        "model", "study: train acc", "study: test acc", "study: macro F1",
        "ours: test acc (random split)", "ours: macro F1 (random split)",
        "ours: test acc (speaker-independent 2-fold by actor)",
        "ours: macro F1 (speaker-independent 2-fold by actor)"]
    cnn = side[side["model"] == "CNN"].iloc[0]
    assert cnn["ours: test acc (random split)"] == 0.7 and cnn["study: test acc"] == 0.4618
    assert side[side["model"] == "LSTM"]["ours: test acc (random split)"].isna().all()


def test_mean_segment_probabilities_ignores_silent_segments():
    timeline = tables.segment_timeline([
        {"start_s": 0.0, "end_s": 3.0, "label": "angry", "probabilities": {"angry": 0.8, "sad": 0.2}},
        {"start_s": 1.0, "end_s": 4.0, "label": None, "probabilities": None},
        {"start_s": 2.0, "end_s": 5.0, "label": "sad", "probabilities": {"angry": 0.2, "sad": 0.8}},
    ])
    assert tables.mean_segment_probabilities(timeline, ["angry", "sad"]) == pytest.approx({"angry": 0.5, "sad": 0.5})


def test_mean_segment_probabilities_none_when_all_silent():
    timeline = tables.segment_timeline([{"start_s": 0.0, "end_s": 3.0, "label": None, "probabilities": None}])
    assert tables.mean_segment_probabilities(timeline, ["angry"]) is None


def test_cross_corpus_rows_are_kept_apart():
    table = pd.DataFrame([{"name": "a", "protocol": "kfold", "cross_corpus": False},
                          {"name": "a", "protocol": "cross_corpus", "cross_corpus": True, "test_corpus": "emodb",
                           "shared_labels": "sad, angry", "n_left_out": 81},
                          {"name": "broken", "protocol": None, "cross_corpus": None}])
    within, cross = tables.split_cross_corpus(table)
    assert list(within["name"]) == ["a", "broken"] and list(cross["protocol"]) == ["cross_corpus"]
    for column in ("model", "features", "accuracy", "uar", "macro_f1"):
        cross = cross.assign(**{column: None})
    assert list(tables.cross_corpus_view(cross).columns)[3:6] == ["test_corpus", "shared_labels", "n_left_out"]
