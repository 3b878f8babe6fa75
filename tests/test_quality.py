"""ser_core.audio.quality and gated ensembles: a member serves only recordings like its training clips."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import speechlike
from ser_core.audio import corrupt
from ser_core.audio.dsp import resample
from ser_core.audio.preprocess import load_audio
from ser_core.audio.quality import DomainGate, estimate_quality, gate_from_clips
from ser_core.errors import ArtifactError, InputError
from ser_core.training.ensemble import combine_protocol

RATE = 16000


@pytest.fixture(scope="module")
def studio_clip():
    clip = sorted(Path(__file__).resolve().parents[2].joinpath("shared/data/ravdess-16k/Actor_03").glob("*.wav"))[5]
    return load_audio(clip, sample_rate=RATE)


def test_studio_speech_is_clean_and_wide_band(studio_clip):
    quality = estimate_quality(studio_clip, sample_rate=RATE)
    assert quality.snr_db > 35 and -40 < quality.high_band_db < -5


def test_added_noise_lowers_the_snr_estimate_and_a_narrow_band_empties_the_high_band(studio_clip):
    noisy = corrupt.add_noise(studio_clip, snr_db=20, noise="white", speech_top_db=20, random_state=0)
    assert estimate_quality(noisy, sample_rate=RATE).snr_db < 30
    narrow = resample(resample(studio_clip, orig_sr=RATE, target_sr=8000), orig_sr=8000, target_sr=RATE)
    assert estimate_quality(narrow, sample_rate=RATE).high_band_db < -60
    telephone = corrupt.telephone_band(studio_clip, sample_rate=RATE)
    assert estimate_quality(telephone, sample_rate=RATE).high_band_db < -60


def test_odd_clips_give_finite_estimates_or_a_clear_error():
    assert np.isfinite(estimate_quality(np.zeros(RATE, np.float32), sample_rate=RATE).snr_db)
    assert np.isfinite(estimate_quality(np.ones(10, np.float32), sample_rate=RATE).as_array()).all()
    assert np.isnan(estimate_quality(speechlike(sample_rate=8000), sample_rate=8000).high_band_db)
    for bad in (np.zeros(0, np.float32), np.zeros((RATE, 2), np.float32)):
        with pytest.raises(InputError, match="non-empty mono"):
            estimate_quality(bad, sample_rate=RATE)


def test_a_gate_admits_clips_at_or_above_both_thresholds():
    gate = DomainGate(min_snr_db=40.0, min_high_band_db=-30.0)
    quality = np.array([[45, -20], [39, -20], [45, -31], [45, np.nan], [40, -30]])
    assert gate.admits(quality).tolist() == [True, False, False, False, True]
    assert DomainGate.from_dict(gate.to_dict()) == gate
    assert "40 dB" in gate.describe()


def test_a_gate_for_the_outside_admits_exactly_the_clips_an_inside_gate_refuses():
    inside = DomainGate(min_snr_db=40.0, min_high_band_db=-30.0)
    outside = DomainGate(min_snr_db=40.0, min_high_band_db=-30.0, serves="outside")
    quality = np.array([[45, -20], [39, -20], [45, np.nan]])
    assert outside.admits(quality).tolist() == [False, True, True]
    assert (outside.admits(quality) == ~inside.admits(quality)).all()
    assert DomainGate.from_dict(outside.to_dict()) == outside
    assert DomainGate.from_dict({"min_snr_db": 40, "min_high_band_db": -30}).serves == "inside"  # as first written
    assert "failing" in outside.describe()


@pytest.mark.parametrize("entry", [None, {}, {"min_snr_db": 40}, {"min_snr_db": 40, "min_high_band_db": -30, "serves": "all"}, {"min_snr_db": "40", "min_high_band_db": -30},
                                   {"min_snr_db": float("nan"), "min_high_band_db": -30},
                                   {"min_snr_db": 40, "min_high_band_db": -30, "extra": 1}])
def test_a_malformed_gate_is_refused(entry):
    with pytest.raises(InputError, match="domain gate"):
        DomainGate.from_dict(entry)


def test_gate_thresholds_are_low_percentiles_of_the_training_clips():
    qualities = np.column_stack([np.arange(100, dtype=float), -np.arange(100, dtype=float)])
    gate = gate_from_clips(qualities, percentile=1.0)
    assert gate.min_snr_db == pytest.approx(0.99) and gate.min_high_band_db == pytest.approx(-98.01)
    with pytest.raises(InputError, match="quality estimates"):
        gate_from_clips(np.zeros((0, 2)))


# ---------------------------------------------------------------- gated ensembles


def _members(tmp_path):
    from test_artifacts import _fitted_forest
    from ser_core.modelfolder.save import save_artifact

    a = save_artifact(tmp_path / "studio", _fitted_forest(seed=0), model_name="random_forest",
                      feature_kind="MFCC-16000-13", latency=False)
    b = save_artifact(tmp_path / "robust", _fitted_forest(seed=5), model_name="random_forest",
                      feature_kind="MFCC-16000-13", latency=False)
    return a, b


@pytest.fixture
def gated(tmp_path):
    from ser_core.modelfolder.read import load_model
    from ser_core.modelfolder.save import save_ensemble

    a, b = _members(tmp_path)
    gate = DomainGate(min_snr_db=35.0, min_high_band_db=-45.0)
    folder = save_ensemble(tmp_path / "ens", [(a, 1.0), (b, 1.0)], domains={"studio": gate}, latency=False)
    return folder, load_model(folder, trust=True), load_model(a, trust=True), load_model(b, trust=True)


def test_a_gated_member_is_left_out_of_a_narrow_band_clip_and_the_prediction_says_so(gated, studio_clip):
    folder, model, studio, robust = gated
    assert model.gated and json.loads((folder / "config.json").read_text())["members"][0]["domain"]
    assert "used only for recordings like its training clips" in (folder / "MODEL_CARD.md").read_text()
    clean = model.predict_audio(studio_clip, sample_rate=RATE)
    both = (studio.predict_audio(studio_clip, sample_rate=RATE).to_array()
            + robust.predict_audio(studio_clip, sample_rate=RATE).to_array()) / 2
    np.testing.assert_allclose(clean.to_array(), both, atol=1e-9)
    assert clean.warning is None
    narrow = corrupt.telephone_band(studio_clip, sample_rate=RATE)
    alone = model.predict_audio(narrow, sample_rate=RATE)
    np.testing.assert_allclose(alone.to_array(), robust.predict_audio(narrow, sample_rate=RATE).to_array(), atol=1e-9)
    assert "'studio'" in alone.warning and "left it out" in alone.warning


def test_features_in_and_audio_in_agree_on_a_gated_ensemble(gated, studio_clip):
    _, model, _, _ = gated
    clips = [studio_clip, corrupt.telephone_band(studio_clip, sample_rate=RATE)]
    X = model.stack_features([model.features(y, sample_rate=RATE) for y in clips])
    assert X["recording_quality"].shape == (2, 2)
    expected = np.stack([model.predict_audio(y, sample_rate=RATE).to_array() for y in clips])
    np.testing.assert_allclose(model.predict_proba(X), expected, atol=1e-9)
    without_quality = {name: value for name, value in X.items() if name != "recording_quality"}
    with pytest.raises(InputError, match="recording_quality"):
        model.predict_proba(without_quality)


def test_a_gated_ensembles_corpus_features_carry_each_clips_quality(gated, tiny_ravdess):
    _, model, _, _ = gated
    dataset = model.corpus_features(tiny_ravdess)
    assert dataset.X["recording_quality"].shape == (len(dataset.paths), 2)
    assert model.predict_proba(dataset.X).shape == (len(dataset.paths), len(model.labels))


def test_clean_and_degraded_recordings_go_to_the_members_that_serve_them(tmp_path, studio_clip):
    from ser_core.modelfolder.read import load_model
    from ser_core.modelfolder.save import save_ensemble

    a, b = _members(tmp_path)
    bounds = {"min_snr_db": 35.0, "min_high_band_db": -45.0}
    folder = save_ensemble(tmp_path / "routed", [(a, 1.0), (b, 1.0)], latency=False,
                           domains={"studio": DomainGate(**bounds), "robust": DomainGate(**bounds, serves="outside")})
    model, studio, robust = (load_model(path, trust=True) for path in (folder, a, b))
    assert "used only for noisy or narrow-band recordings" in (folder / "MODEL_CARD.md").read_text()
    clean = model.predict_audio(studio_clip, sample_rate=RATE)
    np.testing.assert_allclose(clean.to_array(), studio.predict_audio(studio_clip, sample_rate=RATE).to_array(),
                               atol=1e-9)
    assert clean.warning is None  # the robust member sat this one out by design: nothing to tell
    narrow = corrupt.telephone_band(studio_clip, sample_rate=RATE)
    degraded = model.predict_audio(narrow, sample_rate=RATE)
    np.testing.assert_allclose(degraded.to_array(), robust.predict_audio(narrow, sample_rate=RATE).to_array(),
                               atol=1e-9)
    assert "'studio'" in degraded.warning and "'robust'" not in degraded.warning


def test_a_malformed_gate_in_a_folder_is_an_artifact_error(gated):
    from ser_core.modelfolder.read import load_model

    folder = gated[0]
    config = json.loads((folder / "config.json").read_text())
    config["members"][0]["domain"] = {"min_snr_db": "loud"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="domain gate is malformed"):
        load_model(folder, trust=True)


def test_a_gate_naming_no_member_is_refused(tmp_path):
    from ser_core.modelfolder.save import save_ensemble

    a, b = _members(tmp_path)
    with pytest.raises(InputError, match="name no member"):
        save_ensemble(tmp_path / "ens", [(a, 1.0), (b, 1.0)], domains={"nobody": DomainGate(1.0, -50.0)}, latency=False)


def test_combined_figures_leave_a_member_out_where_it_does_not_admit_a_clip():
    labels = ["angry", "sad"]
    paths, folds = [f"/c/{i}.wav" for i in range(40)], np.repeat(np.arange(4), 10)
    truth = np.array(labels * 20)
    right = np.where(truth == "angry", 0, 1)
    good = np.full((40, 2), 0.2)
    good[np.arange(40), right] = 0.8
    wrong = good[:, ::-1].copy()
    member = {"paths": paths, "labels": truth, "fold": folds, "label_order": labels}
    a = {**member, "probabilities": good}
    b = {**member, "probabilities": wrong, "admitted": np.zeros(40, dtype=bool)}
    result, predictions, _ = combine_protocol([(a, 1.0), (b, 5.0)], protocol="kfold", settings={})
    alone, alone_predictions, _ = combine_protocol([(a, 1.0), (a, 1.0)], protocol="kfold", settings={})
    np.testing.assert_allclose(predictions["probabilities"], alone_predictions["probabilities"], atol=1e-6)
    assert result.pooled["accuracy"] == alone.pooled["accuracy"] == 1.0
    _, ungated, _ = combine_protocol([(a, 1.0), ({**b, "admitted": np.ones(40, dtype=bool)}, 5.0)], protocol="kfold",
                                     settings={})
    assert not np.allclose(ungated["probabilities"], predictions["probabilities"], atol=1e-3)


def test_a_routed_ensemble_describes_which_recordings_each_member_serves(tmp_path):
    from ser_core.modelfolder.read import load_model
    from ser_core.modelfolder.save import save_ensemble

    a, b = _members(tmp_path)
    bounds = {"min_snr_db": 35.0, "min_high_band_db": -45.0}
    folder = save_ensemble(tmp_path / "routed", [(a, 1.0), (b, 1.0)], latency=False,
                           domains={"studio": DomainGate(**bounds), "robust": DomainGate(**bounds, serves="outside")})
    described = load_model(folder, trust=True).describe()
    assert "for clean wide-band recordings and " in described and described.endswith("for noisy or narrow-band ones")


def test_blocks_of_frames_give_the_same_estimates_in_bounded_memory(monkeypatch):
    import tracemalloc

    from ser_core.audio import quality

    y = (np.random.default_rng(1).standard_normal(16000 * 5) * 0.1).astype(np.float32)
    y[:8000] *= 0.01  # a quiet stretch, so the SNR estimate is not trivial
    whole = quality.estimate_quality(y, sample_rate=16000).as_array()
    monkeypatch.setattr(quality, "BLOCK_FRAMES", 7)
    assert np.allclose(quality.estimate_quality(y, sample_rate=16000).as_array(), whole, atol=1e-4)
    monkeypatch.undo()
    ten_minutes = np.zeros(16000 * 600, dtype=np.float32)
    ten_minutes[::97] = 0.5
    tracemalloc.start()
    try:
        quality.estimate_quality(ten_minutes, sample_rate=16000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6  # the clip itself is 38 MB; analysing every frame at once took about 300 MB


def _adaptive_members(tmp_path):
    """Two adaptive_linear members on the same features, both with a speaker-adapted head."""
    from ser_core.audio.preprocess import preprocess
    from ser_core.features import extract
    from ser_core.modelfolder.save import save_artifact
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier

    clips = [preprocess(speechlike(seed=s, pitch_hz=110 + 15 * s), sample_rate=RATE) for s in range(12)]
    X = np.stack([extract(y, spec="MFCC-16000-13", sample_rate=RATE) for y in clips])
    y, speakers = np.array(["happy", "sad"] * 6), np.repeat(["a", "b", "c"], 4)
    return [save_artifact(tmp_path / name, AdaptiveLinearClassifier(C=C).fit(X, y, speakers=speakers),
                          model_name="adaptive_linear", feature_kind="MFCC-16000-13", latency=False)
            for name, C in (("studio", 1.0), ("robust", 0.1))]


def test_a_voice_is_adapted_whichever_member_its_recording_is_routed_to(tmp_path, studio_clip):
    from ser_core.modelfolder.read import load_model
    from ser_core.modelfolder.save import save_ensemble
    from ser_core.serving.speakers import adapt_to_speaker

    a, b = _adaptive_members(tmp_path)
    bounds = {"min_snr_db": 35.0, "min_high_band_db": -45.0}
    folder = save_ensemble(tmp_path / "routed", [(a, 1.0), (b, 1.0)], latency=False,
                           domains={"studio": DomainGate(**bounds), "robust": DomainGate(**bounds, serves="outside")})
    model, robust = load_model(folder, trust=True), load_model(b, trust=True)
    narrow = [corrupt.telephone_band(studio_clip * gain, sample_rate=RATE) for gain in (1.0, 0.5, 0.25)]
    voice = adapt_to_speaker(model, narrow, sample_rate=RATE)
    adapted = voice.predict_audio(narrow[0], sample_rate=RATE)
    single = model.predict_audio(narrow[0], sample_rate=RATE)
    X = robust.stack_features([robust.features(y, sample_rate=RATE) for y in narrow])
    robust_adapted = robust.predict_proba(X, speaker=robust.speaker_stats(X, prior_clips=voice.prior_clips))[0]
    expected = np.exp(np.log(robust_adapted) / model.temperature_adapted)
    np.testing.assert_allclose(adapted.to_array(), expected / expected.sum(), atol=1e-6)
    assert adapted.adapted and not np.allclose(adapted.to_array(), single.to_array(), atol=1e-3)
