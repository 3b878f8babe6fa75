"""Tests for ser_core.training.train: protocols, validation from training actors, a tiny end-to-end run."""

import numpy as np
import pytest

from conftest import requires_keras
from ser_core.errors import InputError
from ser_core.modelfolder.read import load_model
from ser_core.scoring.temperature import apply_temperature
from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig
from ser_core.training.train import run_protocol, save_result, train


@pytest.mark.parametrize(
    "settings",
    [{"model": "gpt"}, {"protocol": {"name": "loso"}}, {"protocol": {"name": "holdout"}}, {"fit": {"epochs": 0}},
     {"fit": {"batch_size": 0}}, {"data": {"augment": ("echo",)}}, {"data": {"augment": "speed0.9"}},
     {"data": {"augment": ("speed0.9", "speed0.9")}}, {"fit": {"stop_on": "test"}, "protocol": {"name": "kfold"}},
     {"data": {"feature": "MFCC-16000-13"}}, {"protocol": "kfold"}],
)
def test_config_rejects_bad_settings(settings):
    with pytest.raises(InputError):
        TrainConfig(**settings)


def test_config_nests_by_concern_and_reads_the_flat_form_of_earlier_folders():
    flat = {"model": "cnn", "features": None, "protocol": "holdout", "n_folds": 5, "test_actors": ["01"],
            "test_size": 0.2, "loss": "focal", "focal_alpha": 0.25, "focal_gamma": 2.0, "epochs": 3, "batch_size": None,
            "learning_rate": None, "seed": 7, "validation_fraction": 0.15, "stop_on": "validation",
            "model_params": {"dropout": 0.1}, "augment": ["speed0.9"], "preprocess": {}, "extra_protocols": ["random"],
            "test_data": "", "label_map": {}, "leakage": "warn"}  # a model folder's config.json of the last release
    config = TrainConfig.from_dict(flat)
    assert (config.protocol.name, config.protocol.also, config.protocol.test_speakers) == ("holdout", ("random",), ("01",))
    assert (config.data.features, config.data.augment, config.fit.loss, config.fit.epochs) == \
        ("MFCC-16000-40", ("speed0.9",), "focal", 3)
    assert config.fit.params == {"dropout": 0.1} and config.seed == 7 and config.fit.batch_size == 36
    nested = config.to_dict()
    assert set(nested) == {"model", "data", "protocol", "fit", "seed"} and nested["protocol"]["also"] == ["random"]
    assert TrainConfig.from_dict(nested) == config
    with pytest.raises(InputError, match="unknown training settings \\['colour'\\]"):
        TrainConfig.from_dict({**flat, "colour": "red"})
    with pytest.raises(InputError, match="unknown fit settings"):
        TrainConfig.from_dict({**nested, "fit": {"speed": 1}})
    assert TrainConfig(protocol=ProtocolSettings("loco")).protocol.names == ("loco", "kfold")


@pytest.mark.slow
@requires_keras
def test_two_epoch_run_gives_a_complete_artifact_with_identical_probabilities(tiny_ravdess, tmp_path):
    records = []
    config = TrainConfig(model="cnn", protocol=ProtocolSettings("kfold", n_folds=3), fit=FitSettings(epochs=2), seed=1)
    result = train(config, data=tiny_ravdess, progress=records.append)
    folds = result.metrics.protocols["kfold"].folds
    assert len(folds) == 3
    for fold in folds:
        assert fold["n_fit_clips"] + fold["n_validation_clips"] == fold["n_train_clips"]
    assert {r["fold"] for r in records if "fold" in r} == {1, 2, 3, "final"}
    folder = save_result(result, tmp_path / "cnn")
    model = load_model(folder)
    clip = sorted(tiny_ravdess.glob("*/*.wav"))[0]
    X = model.features(clip)[None]
    expected = apply_temperature(result.model.predict_proba(X), model.temperature)[0]
    np.testing.assert_allclose(model.predict_audio(clip).to_array(), expected, rtol=1e-5, atol=1e-6)
    assert "5-fold" not in (folder / "MODEL_CARD.md").read_text() and "3-fold" in (folder / "MODEL_CARD.md").read_text()


def test_kfold_test_actors_never_train(tiny_ravdess):
    from ser_core.training.train import load_dataset

    dataset = load_dataset(tiny_ravdess, feature_kind="MFCC-16000-13")
    results = run_protocol(TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                                       protocol=ProtocolSettings("kfold", n_folds=3)), dataset)
    result, predictions = results["kfold"]
    seen = [speaker for fold in result.folds for speaker in fold["test_speakers"]]
    assert sorted(seen) == sorted(set(dataset.speakers.tolist()))
    assert set(result.summary) >= {"accuracy", "uar", "macro_f1", "train_accuracy"}
    # every clip tested exactly once, named relative to the corpus root
    assert sorted(predictions["paths"]) == sorted(dataset.relative(path) for path in dataset.paths)
    assert predictions["paths"][0].startswith("Actor_0")
    assert predictions["probabilities"].shape == (len(dataset.paths), len(dataset.label_order))
    assert result.pooled["n_clips"] == len(dataset.paths) and result.calibration["temperature"] > 0


@pytest.mark.slow
def test_wav2vec2_random_forest_with_a_tiny_model(tiny_ravdess, tiny_wav2vec2, tmp_path):
    for pooling in ("last", "all"):
        config = TrainConfig(model="wav2vec2_rf", data=DataSettings(features=f"W2V2-mean-{pooling}:{tiny_wav2vec2}"),
                             protocol=ProtocolSettings("holdout", test_speakers=("03",)))
        result = train(config, data=tiny_ravdess)
        folder = save_result(result, tmp_path / f"w2v2-{pooling}")
        model = load_model(folder, trust=True)
        clip = sorted(tiny_ravdess.glob("*/*.wav"))[0]
        expected = apply_temperature(result.model.predict_proba(model.features(clip)[None]), model.temperature)[0]
        np.testing.assert_allclose(model.predict_audio(clip).to_array(), expected)


def _augmented_dataset(tiny_ravdess):
    from ser_core.training.train import load_dataset

    return load_dataset(tiny_ravdess, feature_kind="MFCC-16000-13", augment=("speed0.9", "speed1.1"))


def test_augmented_copies_are_added_for_fitted_clips_only(tiny_ravdess):
    dataset = _augmented_dataset(tiny_ravdess)
    assert set(dataset.augmented) == {"speed0.9", "speed1.1"}
    assert dataset.augmented["speed0.9"].shape == dataset.X.shape
    assert not np.allclose(dataset.augmented["speed0.9"], dataset.X)
    config = TrainConfig(model="logistic_regression",
                         data=DataSettings(features="MFCC-16000-13", augment=("speed0.9", "speed1.1")),
                         protocol=ProtocolSettings("kfold", n_folds=3))
    result, _ = run_protocol(config, dataset)["kfold"]
    for fold in result.folds:
        assert fold["n_augmented_clips"] == 2 * fold["n_fit_clips"] == 2 * fold["n_train_clips"]
        assert fold["n_test_clips"] + fold["n_train_clips"] == len(dataset.X)


def test_adaptive_linear_gets_the_copies_for_its_single_clip_head(tiny_ravdess, monkeypatch):
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier

    import functools

    seen = {}
    original_fit = AdaptiveLinearClassifier.fit

    @functools.wraps(original_fit)
    def spy(self, X, y, **kwargs):
        seen.update(n_rows=len(X), n_augmented=len(kwargs["X_augmented"]))
        return original_fit(self, X, y, **kwargs)

    monkeypatch.setattr(AdaptiveLinearClassifier, "fit", spy)
    dataset = _augmented_dataset(tiny_ravdess)
    config = TrainConfig(model="adaptive_linear", data=DataSettings(features="MFCC-16000-13", augment=("speed1.1",)),
                         protocol=ProtocolSettings("holdout", test_speakers=("03",)))
    run_protocol(config, dataset)
    assert seen["n_augmented"] == seen["n_rows"] == int(np.sum(dataset.speakers != "03"))


def test_a_prepared_dataset_without_the_copies_is_refused(tiny_ravdess):
    from ser_core.training.train import load_dataset

    dataset = load_dataset(tiny_ravdess, feature_kind="MFCC-16000-13")
    with pytest.raises(InputError, match="no features for augmentations"):
        load_dataset(dataset, feature_kind="MFCC-16000-13", augment=("speed0.9",))


# ---------------------------------------------------------------- your own data (labels, corpora, leakage)
def test_a_four_label_manifest_gives_a_four_label_model(tiny_manifest, tmp_path):
    from conftest import MANIFEST_LABELS
    from ser_core.modelfolder.read import list_artifacts
    from ser_core.reporting.comparison import comparison_rows

    config = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                         protocol=ProtocolSettings("kfold", n_folds=3))
    result = train(config, data=tiny_manifest)
    labels = ["alegría", "calma", "ira", "tristeza"]  # not emotions of ours: sorted
    assert sorted(labels) == sorted(MANIFEST_LABELS.values()) and result.metrics.headline.pooled["labels"] == labels
    assert result.training["corpus"] == "clips" and result.training["layout"] == "manifest"
    folder = save_result(result, tmp_path / "models" / "spanish", latency=False)
    model = load_model(folder, trust=True)
    clip = sorted((tiny_manifest.parent / "audio").iterdir())[0]
    assert sorted(model.labels) == sorted(labels) and set(model.predict_audio(clip).probabilities) == set(labels)
    card = (folder / "MODEL_CARD.md").read_text()
    assert "- labels: " in card and all(label in card for label in labels)
    (row,) = comparison_rows(list_artifacts(folder.parent))
    assert row["n_labels"] == 4 and not row["cross_corpus"]


def test_cross_corpus_protocol_trains_on_one_corpus_and_tests_on_the_shared_labels_of_another(
        tiny_ravdess, tiny_emodb, tmp_path):
    from ser_core.modelfolder.read import list_artifacts
    from ser_core.reporting.comparison import comparison_rows, headline_rows

    records = []
    config = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                         protocol=ProtocolSettings("kfold", n_folds=3, also=("cross_corpus",), test_data=str(tiny_emodb)))
    result = train(config, data=tiny_ravdess, progress=records.append)
    cross = result.metrics.protocols["cross_corpus"]
    assert cross.cross_corpus and cross.title == "another corpus (emodb, 6 shared labels)"
    assert cross.settings["left_out"] == {"boredom": 4} and cross.settings["model_only_labels"] == ["calm", "surprised"]
    assert "left out (boredom 4)" in cross.explanation
    assert cross.pooled["labels"] == cross.settings["shared_labels"] and cross.pooled["n_clips"] == 24
    assert cross.calibration is None and result.metrics.headline.protocol == "kfold"
    assert result.predictions["cross_corpus"]["probabilities"].shape == (24, 6)
    leakage = [r for r in records if r.get("stage") == "leakage check"]
    assert len(leakage) == 1 and leakage[0]["ok"]
    folder = save_result(result, tmp_path / "models" / "ravdess-to-emodb", latency=False)
    rows = comparison_rows(list_artifacts(folder.parent))
    assert [(row["protocol"], row["cross_corpus"]) for row in rows] == [("kfold", False), ("cross_corpus", True)]
    assert rows[1]["shared_labels"].startswith("neutral, happy") and rows[1]["n_left_out"] == 4
    assert [row["protocol"] for row in headline_rows(rows)] == ["kfold"]
    assert "another corpus (emodb" in (folder / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("settings, match", [
    ({"protocol": {"name": "cross_corpus"}}, "needs test_data"),
    ({"protocol": {"leakage": "maybe"}}, "leakage is 'maybe'"),
    ({"data": {"label_map": {"": "x"}}}, "empty 'from' label"),
])
def test_config_rejects_bad_own_data_settings(settings, match):
    with pytest.raises(InputError, match=match):
        TrainConfig(model="logistic_regression", **settings)


def test_leakage_check_warns_or_stops_before_training(tiny_ravdess):
    from ser_core.data.leakage import LeakageError

    records = []
    config = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"))
    result = train(config, data=tiny_ravdess, progress=records.append)
    assert not result.training["leakage"]["ok"] and "speakers are in both" in result.training["leakage"]["leaks"][0]
    assert records[0]["stage"] == "leakage check"
    stop = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                       protocol=ProtocolSettings("random", leakage="stop"))
    with pytest.raises(LeakageError, match="random: 3 of 3 speakers"):
        train(stop, data=tiny_ravdess, progress=records.append)
    off = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                      protocol=ProtocolSettings("random", leakage="off"))
    assert train(off, data=tiny_ravdess).training["leakage"] is None


def test_the_card_says_what_the_leakage_check_found(tiny_ravdess, tmp_path):
    config = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"))
    folder = save_result(train(config, data=tiny_ravdess), tmp_path / "leaky", latency=False)
    assert "leakage check before training found: random: 3 of 3 speakers" in (folder / "MODEL_CARD.md").read_text()


def test_a_saved_folder_names_its_corpora_and_holds_no_absolute_path(tiny_ravdess, tiny_emodb, tmp_path):
    """What a visitor downloads (config, figures, card, out-of-fold predictions) holds no path of the server."""
    from ser_core.modelfolder.read import read_config

    config = TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                         protocol=ProtocolSettings("kfold", n_folds=3, also=("cross_corpus",), test_data=str(tiny_emodb)))
    result = train(config, data=tiny_ravdess)
    result.training["command"] = f"python -m ser_core train --data {tiny_ravdess} --out {tmp_path}/models"
    folder = save_result(result, tmp_path / "models" / "portable", latency=False)
    for name in ("config.json", "metrics.json", "MODEL_CARD.md"):
        assert str(tmp_path) not in (folder / name).read_text(), name
    training = read_config(folder)["training"]
    assert training["data"] == "tiny_ravdess" and training["config"]["protocol"]["test_data"] == "tiny_emodb"
    assert training["command"] == "python -m ser_core train --data tiny_ravdess --out models"
    with np.load(folder / "predictions.npz", allow_pickle=False) as arrays:
        kfold, cross = arrays["kfold/paths"].tolist(), arrays["cross_corpus/paths"].tolist()
    assert len(kfold) == 48 and all(path.startswith("Actor_0") and path.endswith(".wav") for path in kfold)
    assert len(cross) == 24 and all(path.startswith("wav/") for path in cross)
    assert load_model(folder).labels == list(result.model.classes_)


# ---------------------------------------------------------------- several corpora: leave one corpus out
def _loco_config(**fit):
    return TrainConfig(model="logistic_regression", data=DataSettings(features="MFCC-16000-13"),
                       protocol=ProtocolSettings("loco", n_folds=3), fit=FitSettings(**fit))


def test_leave_one_corpus_out_end_to_end(tiny_corpora, tmp_path):
    from ser_core.modelfolder.read import list_artifacts, read_config
    from ser_core.reporting.comparison import comparison_rows, headline_rows, per_corpus_rows

    result = train(_loco_config(), data=tiny_corpora)
    loco, kfold = result.metrics.protocols["loco"], result.metrics.protocols["kfold"]
    assert loco.title == "speech it was not trained on: leave one corpus out (3 corpora)"
    assert loco.cross_corpus and loco.speaker_independent and loco.calibration is None
    assert result.metrics.headline is kfold and len(kfold.folds) == 3
    per_corpus = {row["corpus"]: row for row in loco.per_corpus}
    assert list(per_corpus) == ["a", "b", "c"] and loco.settings["corpora"] == ["a", "b", "c"]
    assert per_corpus["c"]["shared_labels"] == ["happy", "sad"] and per_corpus["c"]["n_left_out"] == 6  # calm
    assert per_corpus["a"]["shared_labels"] == ["happy", "sad", "angry"] and per_corpus["a"]["n_test_clips"] == 18
    assert loco.mean("uar") == pytest.approx(np.mean([row["uar"] for row in loco.per_corpus]))
    assert all(fold["balanced_by_weights"] for fold in loco.folds + kfold.folds) and result.training["balanced_by_weights"]
    assert all(set(fold["test_speakers"]) <= {f"{fold['test_corpus']}:s1", f"{fold['test_corpus']}:s2"}
               for fold in loco.folds)
    assert result.training["corpora"] == {"a": 18, "b": 18, "c": 18} and result.training["n_speakers"] == 6
    assert result.training["balance"].startswith("sample weights: each of the 3 corpora counts the same")
    assert result.predictions["loco"]["probabilities"].shape == (48, 4)  # corpus c's calm clips left out
    folder = save_result(result, tmp_path / "models" / "loco", latency=False)
    card = (folder / "MODEL_CARD.md").read_text()
    assert "| corpus left out | clips scored | shared labels | accuracy | UAR | macro F1 |" in card
    assert "| c | 12 | happy, sad |" in card and "| **mean of 3** |" in card
    assert "- class and corpus balance in training: sample weights" in card and "(a 18, b 18, c 18)" in card
    assert read_config(folder)["training"]["config"]["protocol"]["name"] == "loco"
    rows = comparison_rows(list_artifacts(folder.parent))
    assert [(row["protocol"], row["cross_corpus"]) for row in rows] == [("kfold", False), ("loco", True)]
    assert rows[1]["test_corpus"] == "each left out in turn: a, b, c" and rows[1]["n_left_out"] == 6
    assert [row["protocol"] for row in headline_rows(rows)] == ["kfold"]
    table = per_corpus_rows(rows)
    assert [row["corpus"] for row in table] == ["a", "b", "c", "mean of 3"]
    assert table[-1]["uar"] == rows[1]["uar"] and table[-1]["n_test_clips"] == 48


def test_balance_weights_make_corpora_and_classes_count_the_same(tiny_corpora):
    from ser_core.training.train import balance_weights

    labels = np.array(["a"] * 6 + ["b"] * 2 + ["a"] * 2)
    corpora = np.array(["big"] * 8 + ["small"] * 2)
    weights = balance_weights(labels, corpora)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[corpora == "big"].sum() == pytest.approx(weights[corpora == "small"].sum())
    big = corpora == "big"
    assert weights[big & (labels == "a")].sum() == pytest.approx(weights[big & (labels == "b")].sum())
    result = train(_loco_config(balance=False), data=tiny_corpora)
    assert result.training["balance"].startswith("none (turned off)")
    assert not any(fold["balanced_by_weights"] for fold in result.metrics.protocols["loco"].folds)


def test_leave_one_corpus_out_needs_several_corpora(tiny_manifest):
    with pytest.raises(InputError, match="at least 2 corpora; got 1 \\(clips\\)"):
        train(_loco_config(), data=tiny_manifest)


def test_networks_early_stop_on_whole_speakers_of_the_training_corpora():
    """Under leave-one-corpus-out a network's validation clips come from the corpora it trains on, never the one left out."""
    from ser_core.data.dataset import Dataset
    from ser_core.data.splits import split
    from ser_core.training.train import _fit_and_validation_parts

    corpora = np.repeat(["a", "b", "c"], 12)
    speakers = np.array([f"{corpus}:s{i % 3}" for i, corpus in enumerate(corpora)])
    labels = np.tile(["happy", "sad"], 18)
    dataset = Dataset(X=np.zeros((36, 2)), labels=labels, speakers=speakers, corpora=corpora, paths=[""] * 36,
                      feature_kind="x", settings=None)
    config = TrainConfig(model="cnn", protocol=ProtocolSettings("loco"), fit=FitSettings(validation_fraction=0.3))
    for train_idx, test_idx in split(config.split_spec(), labels=labels, speakers=speakers, corpora=corpora):
        fit_idx, val_idx = _fit_and_validation_parts(config, dataset, train_idx, test_idx, speaker_independent=True)
        assert len(val_idx) and set(val_idx) <= set(train_idx) and not set(val_idx) & set(fit_idx)
        assert not set(corpora[val_idx]) & set(corpora[test_idx])
        assert not set(speakers[val_idx]) & set(speakers[fit_idx])  # whole speakers
