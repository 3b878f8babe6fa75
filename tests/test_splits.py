"""Tests for ser_core.data.splits: the study's random split and the speaker-independent protocols."""

from collections import Counter

import numpy as np
import pytest

from ser_core.data.labels import EMOTIONS
from ser_core.data.splits import (SplitSpec, grouped_kfold, holdout_speakers, leave_one_corpus_out, random_split,
                                  speaker_keys, split, validation_split)
from ser_core.errors import InputError


def ravdess_like(n_actors=10):
    """Labels and actor ids shaped like RAVDESS: per actor 4 neutral and 8 of each other emotion."""
    labels, groups = [], []
    for actor in range(1, n_actors + 1):
        for emotion in EMOTIONS:
            count = 4 if emotion == "neutral" else 8
            labels += [emotion] * count
            groups += [f"{actor:02d}"] * count
    return np.array(labels), np.array(groups)


LABELS, GROUPS = ravdess_like()


def assert_partition(parts, n):
    joined = np.concatenate(parts)
    assert len(joined) == len(set(joined.tolist())) == n


# ---------------------------------------------------------------- random_split


def test_random_split_is_stratified_and_sized():
    train, test = random_split(LABELS, test_size=0.2, seed=42)
    assert_partition([train, test], len(LABELS))
    assert len(test) == round(0.2 * len(LABELS))
    test_counts = Counter(LABELS[test].tolist())
    for emotion, total in Counter(LABELS.tolist()).items():
        assert abs(test_counts[emotion] - 0.2 * total) <= 1


def test_random_split_is_deterministic_per_seed():
    first, second = random_split(LABELS, seed=7), random_split(LABELS, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(np.sort(first[1]), np.sort(random_split(LABELS, seed=8)[1]))


def test_random_split_matches_the_study_recipe():
    from sklearn.model_selection import train_test_split

    expected = train_test_split(np.arange(len(LABELS)), test_size=0.2, stratify=LABELS, random_state=42)
    assert all(np.array_equal(a, b) for a, b in zip(random_split(LABELS), expected))


@pytest.mark.parametrize(
    "labels, test_size, message",
    [
        (LABELS, 0.0, "fraction between 0 and 1"),
        (LABELS, 1.0, "fraction between 0 and 1"),
        (LABELS, "0.2", "fraction between 0 and 1"),
        ([], 0.2, "non-empty 1-D"),
        (["a", "a", "b"], 0.5, "class 'b' has 1 clip"),
        (["a", "a", "b", "b"], 0.1, "cannot split 4 clips"),
    ],
)
def test_random_split_rejects_bad_input(labels, test_size, message):
    with pytest.raises(InputError, match=message):
        random_split(labels, test_size=test_size)


# ---------------------------------------------------------------- grouped_kfold


@pytest.mark.parametrize("labels", [None, LABELS], ids=["grouped", "stratified-grouped"])
def test_grouped_kfold_never_shares_actors(labels):
    folds = grouped_kfold(GROUPS, n_splits=5, labels=labels, seed=42)
    assert len(folds) == 5
    seen_test_actors = []
    for train, test in folds:
        assert_partition([train, test], len(GROUPS))
        assert not set(GROUPS[train]) & set(GROUPS[test])
        seen_test_actors += sorted(set(GROUPS[test]))
        assert set(LABELS[test]) == set(EMOTIONS)  # every fold tests every emotion
    assert sorted(seen_test_actors) == sorted(set(GROUPS))  # each actor tested exactly once


def test_grouped_kfold_is_deterministic_and_seeded():
    def test_actor_sets(seed):
        return [frozenset(GROUPS[test]) for _, test in grouped_kfold(GROUPS, n_splits=5, seed=seed)]

    assert test_actor_sets(1) == test_actor_sets(1)
    assert test_actor_sets(1) != test_actor_sets(2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_splits": 11}, "need at least 11 speakers; got 10"),
        ({"n_splits": 1}, "at least 2"),
        ({"n_splits": 5, "labels": LABELS[:10]}, "labels has 10 entries"),
    ],
)
def test_grouped_kfold_rejects_bad_input(kwargs, message):
    with pytest.raises(InputError, match=message):
        grouped_kfold(GROUPS, **kwargs)


# ---------------------------------------------------------------- holdout_speakers


@pytest.mark.parametrize("test_actors", [["09", "10"], [9, 10], ("9", "10")])
def test_holdout_speakers_accepts_ids_loosely(test_actors):
    train, test = holdout_speakers(GROUPS, test_speakers=test_actors)
    assert_partition([train, test], len(GROUPS))
    assert set(GROUPS[test]) == {"09", "10"}
    assert "09" not in set(GROUPS[train]) and "10" not in set(GROUPS[train])


def test_holdout_single_actor():
    _, test = holdout_speakers(GROUPS, test_speakers="03")
    assert set(GROUPS[test]) == {"03"} and len(test) == 60


@pytest.mark.parametrize(
    "test_actors, message",
    [
        ([], "empty"),
        (["21"], "21 not in the data; speakers present: 01, 02"),
        ([f"{a:02d}" for a in range(1, 11)], "leave at least one speaker"),
    ],
)
def test_holdout_speakers_rejects_bad_input(test_actors, message):
    with pytest.raises(InputError, match=message):
        holdout_speakers(GROUPS, test_speakers=test_actors)


# ---------------------------------------------------------------- validation_split


@pytest.fixture
def fold():
    return holdout_speakers(GROUPS, test_speakers=["09", "10"])


def test_speaker_independent_validation_uses_whole_training_actors(fold):
    train, test = fold
    fit, val = validation_split(train, labels=LABELS, speakers=GROUPS, fraction=0.25, seed=42)
    assert_partition([fit, val], len(train))
    assert set(fit) | set(val) == set(train)
    assert not set(GROUPS[fit]) & set(GROUPS[val])
    assert set(GROUPS[val]) <= set(GROUPS[train]) and not set(GROUPS[val]) & set(GROUPS[test])
    assert len(set(GROUPS[val])) == 2  # 25% of 8 training actors


def test_validation_keeps_at_least_one_actor_each_side():
    train, _ = holdout_speakers(GROUPS, test_speakers=[f"{a:02d}" for a in range(3, 11)])
    fit, val = validation_split(train, labels=LABELS, speakers=GROUPS, fraction=0.01)
    assert len(set(GROUPS[val])) == 1 and len(set(GROUPS[fit])) == 1


def test_random_validation_is_a_stratified_subset_of_train(fold):
    train, _ = fold
    fit, val = validation_split(train, labels=LABELS, speakers=GROUPS, fraction=0.15, speaker_independent=False)
    assert set(fit) | set(val) == set(train) and not set(fit) & set(val)
    assert len(val) == round(0.15 * len(train))
    val_counts = Counter(LABELS[val].tolist())
    for emotion, total in Counter(LABELS[train].tolist()).items():
        assert abs(val_counts[emotion] - 0.15 * total) <= 1


def test_random_validation_falls_back_when_a_class_is_tiny():
    labels = np.array(["a"] * 20 + ["b"])
    fit, val = validation_split(np.arange(21), labels=labels, speakers=None, fraction=0.2, speaker_independent=False)
    assert_partition([fit, val], 21)


@pytest.mark.parametrize("speaker_independent", [True, False])
def test_validation_is_deterministic(fold, speaker_independent):
    train, _ = fold
    runs = [validation_split(train, labels=LABELS, speakers=GROUPS, seed=3, speaker_independent=speaker_independent)
            for _ in range(2)]
    assert np.array_equal(runs[0][1], runs[1][1])
    other = validation_split(train, labels=LABELS, speakers=GROUPS, seed=4, speaker_independent=speaker_independent)
    assert not np.array_equal(runs[0][1], other[1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_idx": np.arange(60)}, "has 1 speaker"),
        ({"speakers": None}, "speakers .* are needed"),
        ({"fraction": 0.0}, "fraction between 0 and 1"),
        ({"train_idx": [0, 10_000]}, "must index into 600 clips"),
        ({"speakers": GROUPS[:5]}, "speakers has 5"),
        ({"train_idx": [0], "speaker_independent": False}, "cannot take a validation part from 1"),
    ],
)
def test_validation_split_rejects_bad_input(fold, kwargs, message):
    arguments = {"train_idx": fold[0], "labels": LABELS, "speakers": GROUPS, **kwargs}
    train_idx = arguments.pop("train_idx")
    with pytest.raises(InputError, match=message):
        validation_split(train_idx, **arguments)


# ---------------------------------------------------------------- one split function from a spec


CORPORA = np.array(["one"] * 300 + ["two"] * 180 + ["three"] * 120)


def test_split_of_a_spec_matches_each_protocol_function():
    kfold = split(SplitSpec("kfold", n_folds=5, seed=7), labels=LABELS, speakers=GROUPS)
    expected = grouped_kfold(GROUPS, n_splits=5, labels=LABELS, seed=7)
    assert all(np.array_equal(a, c) and np.array_equal(b, d) for (a, b), (c, d) in zip(kfold, expected))
    (holdout,) = split(SplitSpec("holdout", test_speakers=[9, 10]), labels=LABELS, speakers=GROUPS)
    assert set(GROUPS[holdout[1]]) == {"09", "10"}
    (random,) = split(SplitSpec("random", test_size=0.25), labels=LABELS)
    assert len(random[1]) == 150
    (declared,) = split(SplitSpec("manifest"), labels=LABELS[:3], declared=["train", "test", "validation"])
    assert declared[0].tolist() == [0, 2] and declared[1].tolist() == [1]


def test_kfold_on_one_corpus_gives_the_same_folds_whatever_its_name():
    one = split(SplitSpec("kfold"), labels=LABELS, speakers=GROUPS, corpora=np.full(600, "ravdess"))
    plain = split(SplitSpec("kfold"), labels=LABELS, speakers=GROUPS)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(one, plain))


def test_leave_one_corpus_out_tests_each_corpus_once_in_name_order():
    folds = split(SplitSpec("loco"), labels=LABELS, speakers=GROUPS, corpora=CORPORA)
    assert [sorted(set(CORPORA[test].tolist())) for _, test in folds] == [["one"], ["three"], ["two"]]
    for train, test in folds:
        assert_partition([train, test], 600)
        assert not set(CORPORA[train].tolist()) & set(CORPORA[test].tolist())
    with pytest.raises(InputError, match="at least 2 corpora; got 1 \\(one\\)"):
        leave_one_corpus_out(["one"] * 5)


def test_kfold_over_several_corpora_keeps_same_named_speakers_apart():
    speakers = np.array(["01", "02", "03"] * 4)
    corpora = np.array(["a"] * 6 + ["b"] * 6)
    keys = speaker_keys(speakers, corpora)
    assert sorted(set(keys.tolist())) == ["a:01", "a:02", "a:03", "b:01", "b:02", "b:03"]
    assert speaker_keys(["tess:OAF", "savee:DC"], ["tess", "savee"]).tolist() == ["tess:OAF", "savee:DC"]
    folds = split(SplitSpec("kfold", n_folds=3), labels=["x", "y"] * 6, speakers=speakers, corpora=corpora)
    assert len(folds) == 3 and all(len(test) == 4 for _, test in folds)


@pytest.mark.parametrize("spec, columns, message", [
    ({"protocol": "loso"}, {}, "unknown protocol 'loso'"),
    ({"protocol": "cross_corpus"}, {}, "no split of the training corpus"),
    ({"protocol": "holdout"}, {}, "needs test_speakers"),
    ({"protocol": "loco"}, {"speakers": GROUPS}, "needs each clip's corpus"),
    ({"protocol": "kfold"}, {}, "needs each clip's speaker"),
])
def test_split_specs_and_missing_columns_are_refused(spec, columns, message):
    with pytest.raises(InputError, match=message):
        split(SplitSpec(**spec), labels=LABELS, **columns)
