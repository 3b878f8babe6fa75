"""The multi-corpus default's recipe: what it trains on and what it refuses."""

from pathlib import Path

import numpy as np
import pytest

from recipes.multicorpus import EXAMPLE_SPEAKERS, WHISPER_MEMBER, corpora_phrase, training_manifest, with_corpora
from ser_core.errors import InputError


def _manifest(tmp_path, rows):
    path = tmp_path / "all.csv"
    path.write_text("path,label,speaker,corpus\n" + "".join(f"{r[0]},{r[1]},{r[2]},{r[3]}\n" for r in rows))
    return path


def test_the_example_speakers_are_left_out_of_training(tmp_path):
    example = EXAMPLE_SPEAKERS[0]
    manifest = _manifest(tmp_path, [("a/1.wav", "sad", "a:1", "a"), ("b/2.wav", "calm", example, "turev"),
                                    ("b/3.wav", "angry", "turev:1", "turev")])
    out = training_manifest(manifest)
    assert out.parent == manifest.parent  # relative clip paths stay valid
    text = out.read_text()
    assert example not in text and "a/1.wav" in text and "b/3.wav" in text


@pytest.mark.parametrize("rows, message", [
    ([("a/1.wav", "sad", "a:1", "a"), ("a/2.wav", "calm", "a:2", "a")], "fewer than two corpora"),
])
def test_a_manifest_of_one_corpus_is_refused(tmp_path, rows, message):
    with pytest.raises(InputError, match=message):
        training_manifest(_manifest(tmp_path, rows))


def test_a_folder_is_refused_with_the_command_that_lays_corpora_out(tmp_path):
    with pytest.raises(InputError, match="recipes.corpora.prepare"):
        training_manifest(tmp_path)


def test_build_default_without_data_names_the_manifest_it_needs(capsys):
    from ser_core.cli import main

    assert main(["build-default"]) != 0
    assert "manifest of several corpora" in capsys.readouterr().err


def _kfold(probabilities, truth, labels):
    n = len(truth)
    return {"paths": [f"ravdess/{i}.wav" for i in range(n)], "labels": np.asarray(truth),
            "fold": np.arange(n) % 4, "probabilities": probabilities, "label_order": labels}


def test_the_cnn_gate_is_adopted_only_when_it_keeps_the_new_speaker_accuracy():
    from recipes.multicorpus import gated_kfold

    labels = ["angry", "sad"]
    rng = np.random.default_rng(0)
    truth = np.array(labels * 40)
    codes = (truth == "sad").astype(int)
    right = np.eye(2)[codes] * 0.6 + 0.2
    noisy = np.where(rng.random((80, 1)) < 0.7, right, right[:, ::-1])
    cnn, whisper = _kfold(right, truth, labels), _kfold(noisy, truth, labels)
    everywhere = np.ones(80, dtype=bool)
    adopted, (result, _, _) = gated_kfold(cnn, whisper, everywhere, {}, log=lambda _: None)
    assert adopted and result.mean("accuracy") == 1.0
    nowhere = np.zeros(80, dtype=bool)  # the good CNN left out of every clip: the accuracy falls, the gate is refused
    adopted, (result, _, _) = gated_kfold(cnn, whisper, nowhere, {}, log=lambda _: None)
    assert not adopted and result.mean("accuracy") == 1.0


def test_the_routed_average_takes_each_clip_from_the_members_that_admit_it():
    from recipes.multicorpus import _routed_average

    rows = ["a.wav", "b.wav", "c.wav"]
    clean = {path: np.array([0.9, 0.1]) for path in rows}
    noisy = {path: np.array([0.2, 0.8]) for path in rows}
    inside = {"a.wav": True, "b.wav": False, "c.wav": True}
    members = [(None, rows, clean, None, inside, 1.0),
               (None, rows, noisy, None, {p: not v for p, v in inside.items()}, 1.0),
               (None, rows, clean, None, None, 1.0)]
    average = _routed_average(members, rows)
    np.testing.assert_allclose(average, [[0.9, 0.1], [0.55, 0.45], [0.9, 0.1]])
    nobody = [(None, rows, clean, None, {p: False for p in rows}, 1.0),
              (None, rows, noisy, None, {p: False for p in rows}, 1.0)]
    np.testing.assert_allclose(_routed_average(nobody, rows[:1]), [[0.55, 0.45]])  # no member admits: all of them


def test_the_routed_average_weighs_the_members_that_admit_a_clip():
    from recipes.multicorpus import _routed_average

    rows = ["a.wav", "b.wav"]
    cnn = {path: np.array([1.0, 0.0]) for path in rows}
    head = {path: np.array([0.0, 1.0]) for path in rows}
    inside = {"a.wav": True, "b.wav": False}
    members = [(None, rows, cnn, None, inside, 2.0), (None, rows, head, None, None, 1.0)]
    # a.wav: both, the CNN counting twice; b.wav: outside the CNN's gate, the head alone whatever its weight
    np.testing.assert_allclose(_routed_average(members, rows), [[2 / 3, 1 / 3], [0.0, 1.0]])


def test_the_cards_name_the_corpora_the_manifest_holds(tmp_path):
    manifest = tmp_path / "all.csv"
    manifest.write_text("path,label,speaker,corpus\na.wav,sad,ravdess:01,ravdess\nb.wav,sad,nemo:EB0,nemo\n"
                        "c.wav,sad,ased:01,ased\nd.wav,calm,turev:1157,turev\n")
    assert corpora_phrase(manifest) == "four corpora (ASED v1, nEMO, RAVDESS 01-20, TurEV-DB)"
    assert "trained on four corpora (ASED v1, nEMO, RAVDESS 01-20, TurEV-DB) with copies" in \
        with_corpora(WHISPER_MEMBER, corpora_phrase(manifest)).description
    manifest.write_text("path,label,speaker,corpus\na.wav,sad,tess:OAF,tess\n")
    assert corpora_phrase(manifest) == "one corpus (TESS)"


def _evidence(monkeypatch):
    """A small Evidence: four RAVDESS clips on two folds (one outside the CNN's gate), two unseen TESS clips."""
    from types import SimpleNamespace

    import recipes.multicorpus as mc
    from ser_core.audio.quality import DomainGate

    labels = ["angry", "sad"]
    truth = np.array(["angry", "sad", "angry", "sad"])
    right = np.eye(2)[(truth == "sad").astype(int)] * 0.8 + 0.1

    def kfold(probabilities):
        return {"paths": [f"ravdess/{i}.wav" for i in range(4)], "labels": truth, "fold": np.array([0, 0, 1, 1]),
                "probabilities": probabilities, "label_order": labels}

    unseen = ["tess/a.wav", "tess/b.wav"]
    dataset = SimpleNamespace(paths=[*kfold(right)["paths"], *unseen], corpora=["ravdess"] * 4 + ["tess"] * 2,
                              corpus_names=["ravdess", "tess"])
    heads = {"clean": np.array([0.9, 0.1]), "noisy": np.array([0.2, 0.8])}

    def loco_member(folder, temperature, root):
        probabilities = heads["noisy" if folder.name == mc.WHISPER_MEMBER.name else "clean"]
        return labels, unseen, {path: probabilities for path in unseen}, {"tess/a.wav": "angry", "tess/b.wav": "sad"}

    monkeypatch.setattr(mc, "_loco_member", loco_member)
    inside = {**{path: True for path in dataset.paths}, "tess/b.wav": False}
    evidence = mc.Evidence(dataset, Path("all.csv"), Path("logmel-cnn"),
                           {name: Path(name) for name in (mc.WHISPER_MEMBER.name, mc.CLEAN_WHISPER_MEMBER.name)},
                           {"n_folds": 2}, kfold(right), DomainGate(10.0, -40.0), inside,
                           np.array([True, True, True, False]), kfold(right[:, ::-1].copy()),
                           _clean_kfold=kfold(right))
    evidence._cnn = (SimpleNamespace(labels=labels), {path: np.array([1.0, 0.0]) for path in unseen})
    return evidence


@pytest.mark.parametrize("route, weights, serves, accuracy", [
    ("C", [1.0, 1.0, 1.0], ("inside", "inside", "outside"), 1.0),
    ("E1", [1.0, 1.0, 1.0], ("inside", "inside", None), 1.0),
    ("E2", [2.0, 1.0, 1.0], ("inside", "inside", None), 1.0),
    ("F", [1.0, 1.0, 1.0], ("inside", None, "outside"), 0.5),
])
def test_each_route_gives_every_member_its_weight_and_its_gate(monkeypatch, route, weights, serves, accuracy):
    import recipes.multicorpus as mc

    choice = mc.routed_choice(_evidence(monkeypatch), route)
    assert [weight for _, weight in choice.members] == weights
    names = (mc.CNN_MEMBER, mc.CLEAN_WHISPER_MEMBER.name, mc.WHISPER_MEMBER.name)
    assert tuple(choice.domains[name].serves if name in choice.domains else None for name in names) == serves
    assert bool(choice.later_rule) == (route != "C")
    # tess/b.wav is outside the gate: the noise-trained head calls it sad (the CNN and the clean head say
    # angry, and on F the clean head joins it there); tess/a.wav is inside: the CNN and the clean head say angry
    loco = choice.loco.folds[0]
    assert loco["test_corpus"] == "tess" and loco["n_test_clips"] == 2
    assert loco["accuracy"] == accuracy
    assert choice.kfold.mean("accuracy") is not None


def test_speed_copies_extend_both_heads_and_leave_the_shipped_recipe_as_it_was():
    import recipes.multicorpus as mc

    noisy, clean = mc.whisper_members(mc.SPEED_COPIES)
    assert (noisy.name, clean.name) == (mc.WHISPER_MEMBER.name, mc.CLEAN_WHISPER_MEMBER.name)
    assert noisy.config.data.augment == mc.WHISPER_COPIES + mc.SPEED_COPIES
    assert clean.config.data.augment == mc.SPEED_COPIES
    assert "played 0.9 and 1.1 times as fast" in noisy.description and "20 dB SNR" in noisy.description
    assert "their copies played 0.9 and 1.1 times as fast" in clean.description
    assert mc.CLEAN_WHISPER_MEMBER.config.data.augment == () and "copies" not in mc.CLEAN_WHISPER_MEMBER.description
    assert noisy.config.fit == clean.config.fit == mc.WHISPER_MEMBER.config.fit  # nothing else changes


def test_each_head_trains_on_its_own_members_copies_on_the_cnns_folds(monkeypatch):
    import recipes.multicorpus as mc

    members = mc.whisper_members(mc.SPEED_COPIES)
    evidence = _evidence(monkeypatch)
    evidence._clean_kfold, evidence.members = None, members
    seen = []
    monkeypatch.setattr(mc, "whisper_on_cnn_folds", lambda dataset, kfold, copies: seen.append(copies) or kfold)
    evidence.clean_kfold()
    assert seen == [mc.SPEED_COPIES]


def test_adapting_reads_each_speakers_statistics_from_the_clips_it_is_given():
    from types import SimpleNamespace

    import recipes.multicorpus as mc
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier
    from ser_core.serving.speakers import DEFAULT_PRIOR_CLIPS

    rng = np.random.default_rng(0)
    speakers = np.repeat(["a", "b", "c", "d"], 12)
    labels = np.tile(["angry", "sad"], 24)
    X = rng.normal(0, 1, (48, 5)) + (labels == "sad")[:, None] + np.repeat(rng.normal(0, 3, (4, 5)), 12, axis=0)
    dataset = SimpleNamespace(X=X, labels=labels, speakers=speakers, corpora=np.repeat(["x", "x", "y", "y"], 12),
                              paths=[f"{s}/{i:02d}.wav" for i, s in enumerate(speakers)])
    estimator = AdaptiveLinearClassifier(C=1.0).fit(X[:24], labels[:24], speakers=speakers[:24])
    every = mc.adapted_probabilities(dataset, estimator, "y", ["sad", "angry"], 1.0)
    assert sorted(every) == sorted(dataset.paths[24:])
    expected = estimator.predict_proba(X[24:], speakers=speakers[24:], prior_clips=DEFAULT_PRIOR_CLIPS)[:, ::-1]
    np.testing.assert_allclose(np.stack([every[path] for path in dataset.paths[24:]]), expected, atol=1e-9)
    three = mc.adapted_probabilities(dataset, estimator, "y", ["sad", "angry"], 1.0, enrolment=3)
    stats = estimator.speaker_stats(X[[24, 30, 35]], prior_clips=DEFAULT_PRIOR_CLIPS)  # first, middle, last of c
    np.testing.assert_allclose(three[dataset.paths[26]], estimator.predict_proba_for_speaker(X[[26]], stats)[0, ::-1],
                               atol=1e-9)


@pytest.mark.parametrize("adapted_outside, accuracy", [(True, 1.0), (False, 0.5)])
def test_adapted_figures_route_every_clip_through_the_adapted_head_since_the_fix(monkeypatch, adapted_outside,
                                                                                accuracy):
    import recipes.multicorpus as mc
    import ser_core.modelfolder.read as read

    evidence = _evidence(monkeypatch)  # tess/b.wav (sad) is outside the gate, where the noise-trained head says angry
    monkeypatch.setattr(read, "read_config", lambda folder: {"calibration": {"temperature_adapted": 1.0}})
    monkeypatch.setattr(mc, "_adapted_head", lambda dataset, corpus, member: None)
    monkeypatch.setattr(mc, "adapted_probabilities", lambda dataset, estimator, corpus, order, temperature, enrolment:
                        {"tess/a.wav": np.array([0.9, 0.1]), "tess/b.wav": np.array([0.1, 0.9])})
    monkeypatch.setattr(mc, "_loco_member", lambda folder, temperature, root: (
        ["angry", "sad"], ["tess/a.wav", "tess/b.wav"], {path: np.array([0.8, 0.2]) for path in ("tess/a.wav",
                                                                                                  "tess/b.wav")},
        {"tess/a.wav": "angry", "tess/b.wav": "sad"}))
    result = mc.adapted_unseen_corpora(evidence, [1.0, 1.0, 1.0], adapted_outside=adapted_outside, log=lambda _: None)
    assert result.protocol == "loco_speaker_adapted" and result.cross_corpus
    assert result.folds[0]["test_corpus"] == "tess" and result.folds[0]["accuracy"] == accuracy
    assert result.settings["enrolment"] == "all of each speaker's clips"
    assert result.title.startswith("speech it was not trained on, adapted to each voice")
