"""ui.tables: comparison tables, the study beside us, model cards."""

from ser_core.modelfolder.results import ModelMetrics
from ui import tables

from test_metrics import FIRST_RELEASE


def _artifact(name, model="cnn", metrics=FIRST_RELEASE):
    return {"name": name, "path": f"/x/{name}", "model": model, "features": "MFCC-16000-40",
            "config": {"training": {}}, "metrics": ModelMetrics.from_dict(metrics)}


def test_comparison_table_has_the_library_columns():
    table = tables.comparison_table([_artifact("cnn-a")], default_name="cnn-a")
    assert list(table["protocol"]) == ["kfold", "random"] and table["default"].all()


def test_study_comparison_puts_ours_beside_the_study_and_adds_the_default():
    with_written = {**FIRST_RELEASE, "protocols": {**FIRST_RELEASE["protocols"], "random_as_written": {
        "summary": {"accuracy": {"mean": 0.61, "std": 0.0, "n": 1}}}}}
    table = tables.comparison_table([_artifact("cnn-a", metrics=with_written), _artifact("ens", model="ensemble")],
                                    default_name="ens")
    side = tables.study_comparison(table, default_name="ens")
    cnn = side[side["system"] == "CNN"].iloc[0]
    assert cnn["study: test accuracy (random split)"] == 0.4618
    assert (cnn["ours: as the study ran it"], cnn["ours: random split, clean"], cnn["ours: new speakers"]) == (0.61, 0.7, 0.5)
    assert side[side["system"] == "LSTM"]["ours: new speakers"].isna().all()
    assert side.iloc[-1]["system"] == "our default (ens)" and side.iloc[-1]["ours: new speakers"] == 0.5


def test_default_name_and_model_card(app_models, tmp_path):
    assert tables.default_name(app_models) == "tiny-logreg"
    assert tables.default_name(tmp_path) is None
    assert tables.model_card(app_models / "tiny-logreg").startswith("# tiny-logreg")
    assert tables.model_card(tmp_path) is None


def test_cross_corpus_rows_are_kept_apart():
    import pandas as pd

    table = pd.DataFrame([{"name": "a", "protocol": "kfold", "cross_corpus": False},
                          {"name": "a", "protocol": "cross_corpus", "cross_corpus": True, "test_corpus": "emodb",
                           "shared_labels": "sad, angry", "n_left_out": 81},
                          {"name": "broken", "protocol": None, "cross_corpus": None}])
    within, cross = tables.split_cross_corpus(table)
    assert list(within["name"]) == ["a", "broken"] and list(cross["protocol"]) == ["cross_corpus"]
    for column in ("model", "features", "accuracy", "uar", "macro_f1"):
        cross = cross.assign(**{column: None})
    assert list(tables.cross_corpus_view(cross).columns)[:5] == ["name", "test_corpus", "accuracy", "uar", "macro_f1"]


def test_headline_glance_stars_the_default_and_lifts_a_shared_protocol_into_the_caption():
    rows = [
        {"name": "a", "accuracy": 0.7311, "accuracy_std": 0.03, "uar": 0.726, "uar_std": 0.034,
         "protocol_title": "new speakers (5-fold by actor)"},
        {"name": "b", "accuracy": 0.5, "accuracy_std": None, "uar": 0.48, "uar_std": None,
         "protocol_title": "new speakers (5-fold by actor)"},
    ]
    glance, same = tables.headline_glance(rows, default="a")
    assert list(glance["model"]) == ["a ★", "b"]
    assert list(glance.columns) == ["model", "accuracy", "UAR"]
    assert glance["accuracy"].iloc[0].startswith("73.1%")
    assert same == {"tested on": "new speakers (5-fold by actor)"}
    rows[1]["protocol_title"] = "the study's random split"
    glance, same = tables.headline_glance(rows, default=None)
    assert "tested on" in glance.columns and same == {}
    assert "★" not in "".join(glance["model"])
