"""Tests for ser_core.audio.augment: speed perturbation of training clips, and its feature cache entries."""

import numpy as np
import pytest

from ser_core.audio.augment import PitchShift, SpeedPerturbation, parse_augmentation, parse_augmentations
from ser_core.errors import InputError
from ser_core.features import extract_corpus
from tests.conftest import SAMPLE_RATE, tone


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


def test_parse_augmentations_round_trips_keys():
    assert parse_augmentations(" speed0.9, speed1.1,pitch-2 ") == (SpeedPerturbation(0.9), SpeedPerturbation(1.1), PitchShift(-2))
    assert parse_augmentations("") == ()
    for augmentation in (SpeedPerturbation(0.85), PitchShift(1.5)):
        assert parse_augmentation(augmentation.key) == augmentation


@pytest.mark.parametrize("text, message", [("speed0.9;speed1.1", "unknown augmentation"), ("0.9", "unknown augmentation"),
                                           ("speed5", "speed factor"), ("echo", "unknown augmentation"),
                                           ("speed0.9,speed0.9", "repeat")])
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
