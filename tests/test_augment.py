"""Tests for ser_core.audio.augment: speed perturbation of training clips, and its feature cache entries."""

import numpy as np
import pytest

from ser_core.audio.augment import (
    SUGGESTED_AUGMENTATIONS,
    AddedNoise,
    CodecRoundTrip,
    PitchShift,
    Reverberation,
    SpeedPerturbation,
    TelephoneBand,
    parse_augmentation,
    parse_augmentations,
)
from ser_core.errors import InputError
from ser_core.features import extract_corpus
from tests.conftest import SAMPLE_RATE, speechlike, tone


def _dominant_hz(y, sample_rate=SAMPLE_RATE):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1 / sample_rate)[np.argmax(spectrum)]


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturbation_changes_tempo_and_pitch_together(factor):
    y = tone(200.0, duration_s=1.0)
    out = SpeedPerturbation(factor)(y, sample_rate=SAMPLE_RATE)
    assert len(out) == pytest.approx(len(y) / factor, abs=2)
    assert _dominant_hz(out) == pytest.approx(200.0 * factor, abs=2.0)
    assert np.max(np.abs(out)) == pytest.approx(np.max(np.abs(y)), rel=1e-5)
    assert out.dtype == np.float32


def test_factor_one_returns_the_clip_unchanged():
    y = tone(300.0)
    np.testing.assert_array_equal(SpeedPerturbation(1.0)(y, sample_rate=SAMPLE_RATE), y)


@pytest.mark.parametrize("factor", [0.0, 0.3, 3.0, float("nan"), True, "0.9"])
def test_out_of_range_or_non_numeric_factors_are_refused(factor):
    with pytest.raises(InputError, match="speed factor"):
        SpeedPerturbation(factor)


def test_key_names_the_factor():
    assert SpeedPerturbation(0.9).key == "speed0.9"
    assert SpeedPerturbation(1).key == "speed1"
    assert PitchShift(-2).key == "pitch-2"


@pytest.mark.parametrize("semitones", [-2, 2])
def test_pitch_shift_keeps_tempo_and_moves_pitch(semitones):
    y = tone(200.0, duration_s=1.0)
    out = PitchShift(semitones)(y, sample_rate=SAMPLE_RATE)
    assert len(out) == len(y)
    assert _dominant_hz(out) == pytest.approx(200.0 * 2 ** (semitones / 12), abs=3.0)
    assert np.max(np.abs(out)) == pytest.approx(np.max(np.abs(y)), rel=1e-5)


@pytest.mark.parametrize("semitones", [13, float("inf"), None, False])
def test_bad_pitch_shifts_are_refused(semitones):
    with pytest.raises(InputError, match="pitch shift"):
        PitchShift(semitones)


@pytest.fixture
def without_librosa(monkeypatch):
    """librosa unfindable and unimportable, as on the hosted install (requirements.txt)."""
    import sys
    from importlib import util

    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "librosa" else real(name, *a))
    monkeypatch.setitem(sys.modules, "librosa", None)


def test_without_librosa_pitch_shifting_names_the_training_requirements(without_librosa, tiny_ravdess):
    from ser_core.audio.augment import missing_training_package
    from ser_core.data.dataset import load_dataset

    assert missing_training_package("pitch-2") == "librosa"
    assert missing_training_package(SpeedPerturbation(0.9)) is None
    message = "augmentation 'pitch-2' needs librosa, which is not installed; pip install -r requirements-train.txt"
    with pytest.raises(InputError, match=message):
        PitchShift(-2)(tone(200.0), sample_rate=SAMPLE_RATE)
    with pytest.raises(InputError, match=message):  # before any clip is read
        load_dataset(tiny_ravdess / "missing", feature_kind="MFCC-16000-13", augment=("speed0.9", "pitch-2"))
    np.testing.assert_array_equal(PitchShift(0)(tone(200.0), sample_rate=SAMPLE_RATE), tone(200.0))


def test_parse_augmentations_round_trips_keys():
    assert parse_augmentations(" speed0.9, speed1.1,pitch-2 ") == (SpeedPerturbation(0.9), SpeedPerturbation(1.1), PitchShift(-2))
    assert parse_augmentations("") == ()
    for augmentation in (SpeedPerturbation(0.85), PitchShift(1.5)):
        assert parse_augmentation(augmentation.key) == augmentation


@pytest.mark.parametrize("text, message", [("speed0.9;speed1.1", "unknown augmentation"), ("0.9", "unknown augmentation"),
                                           ("speed5", "speed factor is 5.0; expected a number in 0.5..2"),
                                           ("echo", "unknown augmentation"), ("speed0.9,speed0.9", "repeat"),
                                           ("noise200", "noise SNR"), ("reverb9", "RT60"), ("telephone2", "unknown"),
                                           ("opus-1k", "bit rate"), ("flac-16k", "unknown augmentation"),
                                           ("noise10,noise10.0", "repeat")])
def test_parse_augmentations_refuses_bad_text(text, message):
    with pytest.raises(InputError, match=message):
        parse_augmentations(text)


def test_extract_corpus_with_augmentation_differs_and_is_cached_apart(tiny_ravdess, tmp_path):
    from ser_core.features.cache import FeatureCache

    paths = sorted(str(p) for p in tiny_ravdess.rglob("*.wav"))[:4]
    cache = FeatureCache(tmp_path / "cache")
    plain = extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1)
    slower = extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1, augmentation=SpeedPerturbation(0.9))
    assert slower.shape == plain.shape
    assert not np.allclose(slower, plain)
    again = extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1, augmentation=SpeedPerturbation(0.9))
    np.testing.assert_array_equal(again, slower)
    assert any("speed0.9" in str(p) for p in (tmp_path / "cache").rglob("*.npz"))
    np.testing.assert_array_equal(extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1), plain)


@pytest.mark.parametrize("key, augmentation", [
    ("noise10", AddedNoise(10.0, "pink")),
    ("whitenoise5", AddedNoise(5.0, "white")),
    ("noise-2.5", AddedNoise(-2.5)),
    ("reverb0.4", Reverberation(0.4)),
    ("telephone", TelephoneBand()),
    ("opus-16k", CodecRoundTrip("opus", 16.0)),
    ("mp3-24k", CodecRoundTrip("mp3", 24)),
])
def test_corruption_keys_round_trip(key, augmentation):
    assert parse_augmentation(key) == augmentation
    assert augmentation.key == key
    assert parse_augmentation(augmentation.key) == augmentation
    assert augmentation.cache_key.startswith(key + "-c")  # versioned: a changed algorithm misses the cache


def test_every_suggested_augmentation_parses_to_its_own_key():
    assert [parse_augmentation(key).key for key in SUGGESTED_AUGMENTATIONS] == list(SUGGESTED_AUGMENTATIONS)


def test_training_settings_accept_corruption_keys():
    from ser_core.training.config import DataSettings

    settings = DataSettings(augment=("noise10", "reverb0.40", "telephone", "opus-16k"))
    assert settings.augment == ("noise10", "reverb0.4", "telephone", "opus-16k")


@pytest.mark.parametrize("key", ["noise10", "whitenoise20", "reverb0.4", "telephone", "opus-16k"])
def test_corruption_copies_are_deterministic_per_clip_and_keep_the_peak(key):
    augmentation = parse_augmentation(key)
    y, other = speechlike(duration_s=1.0, seed=0), speechlike(duration_s=1.0, seed=1)
    out = augmentation(y, sample_rate=SAMPLE_RATE)
    assert out.dtype == np.float32
    assert not np.allclose(out[: len(y)], y, atol=1e-3)
    assert np.max(np.abs(out)) == pytest.approx(np.max(np.abs(y)), rel=1e-5)
    np.testing.assert_array_equal(parse_augmentation(key)(y.copy(), sample_rate=SAMPLE_RATE), out)
    if key.startswith(("noise", "whitenoise", "reverb")):  # seeded from the clip: another clip, other noise
        noise_y = out[: len(y)] / np.max(np.abs(out)) - y / np.max(np.abs(y))
        other_out = augmentation(other, sample_rate=SAMPLE_RATE)
        noise_other = other_out[: len(other)] / np.max(np.abs(other_out)) - other / np.max(np.abs(other))
        assert not np.allclose(noise_y, noise_other, atol=1e-3)


def test_extract_clips_caches_a_corruption_copy_under_its_key(tiny_ravdess, tmp_path):
    from ser_core.features import extract_clips
    from ser_core.features.cache import FeatureCache

    paths = sorted(str(p) for p in tiny_ravdess.rglob("*.wav"))[:3]
    cache = FeatureCache(tmp_path / "cache")
    plain = extract_clips(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1).X
    noisy = extract_clips(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1, augmentation=parse_augmentation("noise10"))
    assert not noisy.failures and noisy.X.shape == plain.shape
    assert not np.allclose(noisy.X, plain)
    entries = [p for p in (tmp_path / "cache").rglob("*.npz") if "noise10-c1" in str(p)]
    assert len(entries) >= len(paths)
    # A fresh cache computes the same copy again: the noise is seeded from the clip, not drawn afresh.
    fresh = extract_clips(paths, spec="MFCC-16000-40", cache=FeatureCache(tmp_path / "fresh"), n_jobs=1,
                          augmentation=parse_augmentation("noise10"))
    np.testing.assert_array_equal(fresh.X, noisy.X)
    again = extract_clips(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1, augmentation=parse_augmentation("noise10"))
    np.testing.assert_array_equal(again.X, noisy.X)
