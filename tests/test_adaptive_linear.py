"""Tests for ser_core.models.adaptive_linear: the speaker-adaptable logistic regression."""

import numpy as np
import pytest

from ser_core.errors import ArtifactError, InputError, NotFittedError, TrainingCancelled
from ser_core.models.adaptive_linear import SETTINGS_FILE, WEIGHTS_FILE, AdaptiveLinearClassifier

LABELS = np.array(["angry", "calm", "sad"])


def _data(seed=0, n_speakers=4, per_class=10):
    """Separable classes, each speaker shifted and scaled: per-speaker normalisation should help."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 6)) * 1.5
    X, y, speakers = [], [], []
    for s in range(n_speakers):
        offset, scale = rng.standard_normal(6) * 4, rng.uniform(0.5, 2.0)
        for k in range(3):
            X.append((centers[k] + 0.5 * rng.standard_normal((per_class, 6))) * scale + offset)
            y += [LABELS[k]] * per_class
            speakers += [f"spk{s}"] * per_class
    return np.vstack(X), np.array(y), np.array(speakers)


def test_fit_returns_self_and_sets_classes():
    X, y, _ = _data()
    model = AdaptiveLinearClassifier()
    assert model.fit(X, y) is model
    assert list(model.classes_) == list(LABELS)
    assert model.n_features_in_ == 6


def test_init_only_stores_settings():
    model = AdaptiveLinearClassifier(C=0.5, max_iter=10, prior_clips=2.0, class_weight="balanced")
    assert model.get_params() == {"C": 0.5, "max_iter": 10, "prior_clips": 2.0, "class_weight": "balanced",
                                  "nuisance_dims": 0, "copy_dims": 0}
    assert not hasattr(model, "classes_")


def test_predict_proba_is_a_distribution_and_predict_agrees():
    X, y, _ = _data()
    model = AdaptiveLinearClassifier().fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


def test_speaker_adaptation_helps_on_unseen_speakers():
    X, y, speakers = _data(seed=3, n_speakers=6)
    train = np.isin(speakers, ["spk0", "spk1", "spk2", "spk3"])
    model = AdaptiveLinearClassifier(C=1.0).fit(X[train], y[train], speakers=speakers[train])
    single = np.mean(model.predict(X[~train]) == y[~train])
    adapted = np.mean(model.predict(X[~train], speakers=speakers[~train]) == y[~train])
    assert adapted > single
    assert adapted > 0.9


def test_save_load_round_trip_without_pickle(tmp_path):
    X, y, speakers = _data()
    model = AdaptiveLinearClassifier(C=0.3).fit(X, y, speakers=speakers)
    model.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {WEIGHTS_FILE, SETTINGS_FILE}
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as data:
        assert "single_coef" in data.files and "adapted_coef" in data.files
    loaded = AdaptiveLinearClassifier.load(tmp_path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(loaded.predict_proba(X, speakers=speakers), model.predict_proba(X, speakers=speakers), atol=1e-5)
    assert loaded.n_parameters_ == model.n_parameters_ > 0


def test_prior_clips_allows_a_single_enrolment_clip():
    X, y, speakers = _data()
    model = AdaptiveLinearClassifier(prior_clips=3.0).fit(X, y, speakers=speakers)
    proba = model.predict_proba(X[:1], speakers=np.array(["new"]))
    np.testing.assert_allclose(proba.sum(), 1.0)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "save", "n_parameters_"])
def test_unfitted_use_raises(method, tmp_path):
    model = AdaptiveLinearClassifier()
    with pytest.raises(NotFittedError):
        if method == "save":
            model.save(tmp_path)
        elif method == "n_parameters_":
            model.n_parameters_
        else:
            getattr(model, method)(np.ones((2, 6)))


def test_adapted_prediction_without_adapted_head_raises():
    X, y, speakers = _data()
    model = AdaptiveLinearClassifier().fit(X, y)
    with pytest.raises(NotFittedError, match="speaker-adapted head"):
        model.predict(X, speakers=speakers)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones(6), np.array(["a"]), "2-D"),
        (np.zeros((0, 6)), np.array([]), "2-D"),
        (np.full((4, 2), np.nan), np.array(["a", "b", "a", "b"]), "NaN"),
        (np.ones((4, 2)), np.array(["a", "b"]), "one label per clip"),
        (np.ones((4, 2)), np.array(["a"] * 4), "at least 2 classes"),
    ],
)
def test_fit_rejects_bad_input(X, y, match):
    with pytest.raises(InputError, match=match):
        AdaptiveLinearClassifier().fit(X, y)


@pytest.mark.parametrize(
    "X, speakers, match",
    [
        (np.ones((3, 5)), None, "expected 6 feature values"),
        (np.ones((3, 6)), np.array(["a", "b"]), "one id per clip"),
        (np.ones((1, 6)), np.array(["a"]), "at least 2 clips"),
    ],
)
def test_predict_rejects_bad_input(X, speakers, match):
    Xt, y, spk = _data()
    model = AdaptiveLinearClassifier().fit(Xt, y, speakers=spk)
    with pytest.raises(InputError, match=match):
        model.predict(X, speakers=speakers)


def test_load_from_wrong_folder_raises(tmp_path):
    with pytest.raises(ArtifactError, match="adaptive_linear"):
        AdaptiveLinearClassifier.load(tmp_path)


def test_fit_accepts_the_shared_training_signature():
    X, y, _ = _data()
    records = []
    model = AdaptiveLinearClassifier().fit(X, y, X_val=None, y_val=None, progress=records.append, should_stop=lambda: False)
    assert records and 0.0 <= records[-1]["accuracy"] <= 1.0
    assert model.history_ == {}


def test_should_stop_cancels_training():
    X, y, _ = _data()
    with pytest.raises(TrainingCancelled):
        AdaptiveLinearClassifier().fit(X, y, should_stop=lambda: True)


@pytest.mark.slow
def test_artifact_round_trip_on_real_clips(tiny_ravdess, tmp_path):
    """Train on ComParE functionals of real clips, save as an artifact, load, same predictions from files."""
    from ser_core.data.index import index_corpus
    from ser_core.features import extract_corpus
    from ser_core.modelfolder.read import load_model
    from ser_core.modelfolder.save import save_artifact

    clips = index_corpus(tiny_ravdess, layout="ravdess").clips
    paths = clips["path"].tolist()
    X = extract_corpus(paths, spec="COMPARE-16000", n_jobs=1)
    y = clips["label"].astype(str).to_numpy()
    actors = clips["speaker"].astype(str).to_numpy()
    model = AdaptiveLinearClassifier().fit(X, y, speakers=actors)
    folder = save_artifact(tmp_path / "adaptive", model, model_name="adaptive_linear", feature_kind="COMPARE-16000")
    loaded = load_model(folder)  # no trust needed: no pickle inside
    expected = model.predict(X[:4])
    assert [loaded.predict_audio(path).label for path in paths[:4]] == list(expected)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-4)
    np.testing.assert_allclose(
        loaded.estimator.predict_proba(X, speakers=actors), model.predict_proba(X, speakers=actors), atol=1e-4
    )


def test_registry_builds_and_describes_it():
    from ser_core.models.registry import MODEL_NAMES, make_model, model_family

    assert "adaptive_linear" in MODEL_NAMES
    assert model_family("adaptive_linear") == "numpy"
    model = make_model("adaptive_linear", C=0.5, seed=1, epochs=3)
    assert isinstance(model, AdaptiveLinearClassifier) and model.C == 0.5
    with pytest.raises(InputError, match="bad settings"):
        make_model("adaptive_linear", n_estimators=3)


def test_prior_clips_argument_overrides_the_setting():
    X, y, speakers = _data()
    model = AdaptiveLinearClassifier().fit(X, y, speakers=speakers)
    own = model.predict_proba(X, speakers=speakers)
    shrunk = model.predict_proba(X, speakers=speakers, prior_clips=50.0)
    assert not np.allclose(own, shrunk)
    np.testing.assert_allclose(model.predict_proba(X, speakers=speakers, prior_clips=0.0), own)


@pytest.mark.parametrize("class_weight", ["auto", {"a": 1.0}, 1.0])
def test_bad_class_weight_raises(class_weight):
    X, y, _ = _data()
    with pytest.raises(InputError, match="class_weight"):
        AdaptiveLinearClassifier(class_weight=class_weight).fit(X, y)


def _imbalanced(seed=0):
    """Two overlapping classes, the minority one with a fifth of the clips."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, (500, 2)), rng.normal(1.0, 1.0, (100, 2))])
    y = np.array(["major"] * 500 + ["minor"] * 100)
    speakers = np.array([f"spk{i % 5}" for i in range(600)])
    return X, y, speakers


def test_balanced_class_weight_raises_minority_recall_in_both_heads(tmp_path):
    X, y, speakers = _imbalanced()
    plain = AdaptiveLinearClassifier(C=1.0).fit(X, y, speakers=speakers)
    balanced = AdaptiveLinearClassifier(C=1.0, class_weight="balanced").fit(X, y, speakers=speakers)
    minor = y == "minor"
    for kwargs in ({}, {"speakers": speakers}):
        recall_plain = np.mean(plain.predict(X, **kwargs)[minor] == "minor")
        recall_bal = np.mean(balanced.predict(X, **kwargs)[minor] == "minor")
        assert recall_bal > recall_plain + 0.2
    balanced.save(tmp_path)
    loaded = AdaptiveLinearClassifier.load(tmp_path)
    assert loaded.class_weight == "balanced"
    np.testing.assert_allclose(loaded.predict_proba(X), balanced.predict_proba(X), atol=1e-5)


def test_two_classes_match_sklearn():
    from sklearn.linear_model import LogisticRegression

    X, y, _ = _imbalanced(seed=1)
    model = AdaptiveLinearClassifier(C=1.0).fit(X, y)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    reference = LogisticRegression(C=1.0, max_iter=3000).fit(Z, y)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(Z), atol=1e-6)
    assert 0 < np.mean(model.predict(X) == "minor") < 1


def test_predict_proba_for_speaker_equals_the_grouped_adapted_head():
    """Statistics estimated from a speaker's clips give the same probabilities as predict_proba(speakers=...)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 5)) + np.repeat([[0.0], [2.0]], 20, axis=0)
    y = np.array(["a", "b"] * 20)
    speakers = np.repeat(["s1", "s2"], 20)
    model = AdaptiveLinearClassifier(prior_clips=4.0).fit(X, y, speakers=speakers)
    rows = speakers == "s2"
    stats = model.speaker_stats(X[rows])
    np.testing.assert_allclose(model.predict_proba_for_speaker(X[rows], stats),
                               model.predict_proba(X[rows], speakers=speakers[rows]))


def test_augmented_rows_train_the_single_clip_head_only():
    X, y, speakers = _data(seed=5)
    rng = np.random.default_rng(1)
    X_aug = X * 1.1 + rng.standard_normal(X.shape)
    plain = AdaptiveLinearClassifier().fit(X, y, speakers=speakers)
    augmented = AdaptiveLinearClassifier().fit(X, y, speakers=speakers, X_augmented=X_aug, y_augmented=y)
    assert not np.allclose(plain.single_[2], augmented.single_[2])
    for a, b in zip(plain.adapted_, augmented.adapted_):
        np.testing.assert_allclose(a, b)
    # The standardisation (and so the population prior for adaptation) comes from the original clips.
    np.testing.assert_allclose(plain.single_[0], augmented.single_[0])
    np.testing.assert_allclose(plain.single_[1], augmented.single_[1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"X_augmented": np.zeros((2, 6))}, "together"),
        ({"X_augmented": np.zeros((2, 5)), "y_augmented": np.array(["calm", "sad"])}, "values per clip"),
        ({"X_augmented": np.zeros((2, 6)), "y_augmented": np.array(["calm"])}, "one label per augmented clip"),
        ({"X_augmented": np.zeros((1, 6)), "y_augmented": np.array(["happy"])}, "not among"),
    ],
)
def test_bad_augmented_rows_are_refused(kwargs, message):
    X, y, _ = _data()
    with pytest.raises(InputError, match=message):
        AdaptiveLinearClassifier().fit(X, y, **kwargs)


def test_wide_features_are_solved_in_row_space_with_the_same_optimum():
    """Fewer clips than features: the SVD-coordinate fit must equal a direct fit."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    y = np.repeat(LABELS, 8)
    X = rng.standard_normal((24, 60)) + np.repeat(rng.standard_normal((3, 60)), 8, axis=0)
    model = AdaptiveLinearClassifier(C=0.5, max_iter=5000).fit(X, y)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    direct = LogisticRegression(C=0.5, max_iter=5000, tol=1e-10).fit((X - mean) / scale, y)
    np.testing.assert_allclose(model.single_[2], direct.coef_, atol=1e-3)
    np.testing.assert_allclose(model.predict_proba(X), direct.predict_proba((X - mean) / scale), atol=1e-4)


def test_sample_weights_shift_the_decision_toward_heavy_clips():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 3)), rng.normal(1, 1, (40, 3))])
    y = np.array(["a"] * 40 + ["b"] * 40)
    plain = AdaptiveLinearClassifier(C=1.0).fit(X, y)
    heavy_b = AdaptiveLinearClassifier(C=1.0).fit(X, y, sample_weight=np.where(y == "b", 10.0, 1.0))
    middle = np.full((1, 3), 0.5)
    assert heavy_b.predict_proba(middle)[0, 1] > plain.predict_proba(middle)[0, 1]
    with pytest.raises(InputError, match="sample_weight"):
        AdaptiveLinearClassifier().fit(X, y, sample_weight=np.ones(3))


def _speaker_shifted(seed=0, n_speakers=12, per_class=8):
    """Emotion in values 0-1; each speaker shifted along one direction that also leans on value 0."""
    rng = np.random.default_rng(seed)
    direction = np.array([0.5, 0, 1.0, 1.0, -1.0, 0.5])
    X, y, speakers = [], [], []
    for s in range(n_speakers):
        shift = rng.normal(0, 3) * direction
        for k, label in enumerate(LABELS):
            rows = rng.normal(0, 0.4, (per_class, 6))
            rows[:, k % 2] += 2.0 * (k - 1)
            X.append(rows + shift)
            y += [label] * per_class
            speakers += [f"spk{s}"] * per_class
    return np.vstack(X), np.array(y), np.array(speakers), direction


def test_projected_speaker_directions_leave_a_new_voice_its_label():
    X, y, speakers, direction = _speaker_shifted()
    moved = X + 25.0 * direction  # voices far along the speakers' direction, beyond every training speaker
    plain = AdaptiveLinearClassifier(C=1.0).fit(X, y, speakers=speakers)
    assert (plain.predict(moved) != plain.predict(X)).any()  # without the projection the shift changes labels
    model = AdaptiveLinearClassifier(C=1.0, nuisance_dims=1).fit(X, y, speakers=speakers)
    _, scale, coef, _ = model.single_
    standardised = direction / scale
    # the weights all but ignore the speakers' direction (estimated from 12 speakers' means)
    assert np.abs(coef @ standardised).max() < 0.01 * np.abs(coef).max() * np.linalg.norm(standardised)
    np.testing.assert_array_equal(model.predict(moved), model.predict(X))
    assert (model.predict(X) == y).mean() > 0.9


def test_projection_needs_the_speakers_and_takes_at_most_what_their_means_span():
    X, y, speakers, _ = _speaker_shifted(n_speakers=3)
    with pytest.raises(InputError, match="needs the speaker of every training clip"):
        AdaptiveLinearClassifier(nuisance_dims=1).fit(X, y)
    with pytest.raises(InputError, match="at least 2 training speakers"):
        AdaptiveLinearClassifier(nuisance_dims=1).fit(X, y, speakers=np.full(len(y), "one"))
    with pytest.raises(InputError, match="whole number"):
        AdaptiveLinearClassifier(nuisance_dims=-1).fit(X, y, speakers=speakers)
    # three speakers' means span two directions: asking for five projects out those two
    many = AdaptiveLinearClassifier(nuisance_dims=5).fit(X, y, speakers=speakers)
    two = AdaptiveLinearClassifier(nuisance_dims=2).fit(X, y, speakers=speakers)
    np.testing.assert_allclose(many.predict_proba(X), two.predict_proba(X))


def test_projected_weights_survive_saving(tmp_path):
    X, y, speakers, _ = _speaker_shifted()
    X_aug = X + 0.01
    model = AdaptiveLinearClassifier(nuisance_dims=2).fit(X, y, speakers=speakers, X_augmented=X_aug, y_augmented=y)
    model.save(tmp_path)
    loaded = AdaptiveLinearClassifier.load(tmp_path)
    assert loaded.nuisance_dims == 2
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-5)


def _noisy_copies(seed=0, per_class=30):
    """Clips with the emotion in values 0-1, and two copies each, shifted along a 'noise' direction leaning on value 0."""
    rng = np.random.default_rng(seed)
    noise = np.array([1.0, 0, 0.5, -1.0, 0.5, 1.0])
    X = np.vstack([rng.normal(0, 0.4, (per_class, 6)) + np.eye(6)[k % 2] * 2.0 * (k - 1) for k in range(len(LABELS))])
    y = np.repeat(LABELS, per_class)
    copies = np.vstack([X + rng.normal(1.5, 0.3, (len(X), 1)) * noise, X + rng.normal(3.0, 0.3, (len(X), 1)) * noise])
    return X, y, copies, noise


def test_projected_copy_directions_keep_labels_under_the_corruption():
    X, y, copies, noise = _noisy_copies()
    corrupted = X + 6.0 * noise  # stronger than any training copy
    plain = AdaptiveLinearClassifier(C=1.0).fit(X, y, X_augmented=copies, y_augmented=np.tile(y, 2))
    assert (plain.predict(corrupted) != plain.predict(X)).any()
    model = AdaptiveLinearClassifier(C=1.0, copy_dims=1).fit(X, y, X_augmented=copies, y_augmented=np.tile(y, 2))
    _, scale, coef, _ = model.single_
    standardised = noise / scale
    assert np.abs(coef @ standardised).max() < 0.01 * np.abs(coef).max() * np.linalg.norm(standardised)
    np.testing.assert_array_equal(model.predict(corrupted), model.predict(X))
    assert (model.predict(X) == y).mean() > 0.9


def test_copy_directions_need_copies_of_every_clip_and_survive_saving(tmp_path):
    X, y, copies, _ = _noisy_copies()
    with pytest.raises(InputError, match="needs augmented copies of every training clip"):
        AdaptiveLinearClassifier(copy_dims=1).fit(X, y)
    with pytest.raises(InputError, match="needs augmented copies of every training clip"):
        AdaptiveLinearClassifier(copy_dims=1).fit(X, y, X_augmented=copies[:-1], y_augmented=np.tile(y, 2)[:-1])
    with pytest.raises(InputError, match="whole number"):
        AdaptiveLinearClassifier(copy_dims=True).fit(X, y, X_augmented=copies, y_augmented=np.tile(y, 2))
    speakers = np.tile(np.array(["a", "b", "c"]), len(y) // 3)
    model = AdaptiveLinearClassifier(copy_dims=1, nuisance_dims=1).fit(X, y, speakers=speakers, X_augmented=copies,
                                                                      y_augmented=np.tile(y, 2))
    model.save(tmp_path)
    loaded = AdaptiveLinearClassifier.load(tmp_path)
    assert (loaded.copy_dims, loaded.nuisance_dims) == (1, 1)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-5)
