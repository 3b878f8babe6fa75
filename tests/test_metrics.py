"""ser_core.modelfolder.results: the one format of a model's figures, this release's and the first one's."""

import pytest

from ser_core.errors import InputError
from ser_core.modelfolder.results import METRICS_VERSION, ModelMetrics, ProtocolResult


def _fold(confusion, labels=("angry", "sad")):
    from ser_core.scoring.metrics import evaluate_predictions

    y_true, y_pred = [], []
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            y_true += [labels[i]] * count
            y_pred += [labels[j]] * count
    return evaluate_predictions(y_true, y_pred, labels=list(labels))


#: metrics.json as the first release wrote it (no version, descriptions, no settings).
FIRST_RELEASE = {
    "n_parameters": 166984, "size_bytes": 2_000_000, "training_time_s": 10.5, "latency_ms_per_3s_clip": 4.2,
    "protocols": {
        "kfold": {"protocol": "kfold", "description": "speaker-independent 2-fold by actor",
                  "summary": {"accuracy": {"mean": 0.5, "std": 0.1, "n": 2}},
                  "folds": [_fold([[2, 0], [1, 1]]), _fold([[1, 1], [0, 2]])]},
        "random": {"description": "random split", "summary": {"accuracy": {"mean": 0.7, "std": 0.0, "n": 1}},
                   "folds": [_fold([[2, 0], [0, 1]])]},
    },
}


def test_the_first_release_format_reads_with_plain_titles():
    metrics = ModelMetrics.from_dict(FIRST_RELEASE)
    assert metrics.version == METRICS_VERSION and metrics.latency_ms_per_3s_clip == 4.2
    kfold = metrics.protocols["kfold"]
    assert kfold.title == "new speakers (2-fold by speaker)" and kfold.speaker_independent
    assert metrics.protocols["random"].title == "study's random split (speakers shared)"
    assert metrics.headline is kfold and [r.protocol for r in metrics.ordered()] == ["kfold", "random"]
    assert (kfold.mean("accuracy"), kfold.std("accuracy")) == (0.5, 0.1)
    assert metrics.protocols["random"].std("accuracy") is None  # one split has no spread


def test_pooled_evaluation_sums_the_folds_when_no_predictions_were_kept():
    evaluation = ModelMetrics.from_dict(FIRST_RELEASE).protocols["kfold"].evaluation()
    assert evaluation["confusion"] == [[3, 1], [1, 3]] and evaluation["accuracy"] == 0.75


def test_round_trip():
    metrics = ModelMetrics(protocols={"holdout": ProtocolResult("holdout", settings={"test_speakers": ["21", "22"]})},
                           n_parameters=3)
    again = ModelMetrics.from_dict(metrics.to_dict())
    assert again == metrics and again.protocols["holdout"].title == "new speakers (held-out speakers 21, 22)"


def test_earlier_names_in_a_shipped_metrics_file_are_read_as_todays():
    """A folder of the last release says test_actors; it is read, never rewritten."""
    block = {"settings": {"test_actors": ["21"]}, "folds": [{"accuracy": 0.5, "test_actors": ["21"]}]}
    result = ModelMetrics.from_dict({"version": 2, "protocols": {"holdout": block}}).protocols["holdout"]
    assert result.settings == {"test_speakers": ["21"]} and result.folds[0]["test_speakers"] == ["21"]
    assert result.title == "new speakers (held-out speakers 21)" and block["settings"] == {"test_actors": ["21"]}


@pytest.mark.parametrize("bad", [[], {"version": 99}, {"protocols": []}, {"protocols": {"kfold": "x"}}])
def test_bad_metrics_are_refused(bad):
    with pytest.raises(InputError):
        ModelMetrics.from_dict(bad)
