"""Tests for ser_core.audio.corrupt: noise at an SNR, rooms, the telephone band, codecs and gain, on synthetic audio."""

import numpy as np
import pytest

from ser_core.audio import corrupt
from ser_core.errors import InputError, SERError
from tests.conftest import SAMPLE_RATE, speechlike, tone


def _band_energy_share(y, *, low_hz, high_hz=None, sample_rate=SAMPLE_RATE):
    """Share of a clip's spectral energy between low_hz and high_hz."""
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    hz = np.fft.rfftfreq(len(y), 1 / sample_rate)
    inside = (hz >= low_hz) & (hz < (high_hz or np.inf))
    return float(spectrum[inside].sum() / spectrum.sum())


@pytest.mark.parametrize("noise", ["white", "pink", "babble"])
@pytest.mark.parametrize("snr_db", [20.0, 10.0, 5.0, 0.0])
def test_add_noise_hits_the_requested_snr(noise, snr_db):
    y = speechlike(duration_s=2.0)
    babble = [speechlike(duration_s=1.3, seed=s, pitch_hz=100 + 30 * s) for s in (1, 2, 3)] if noise == "babble" else None
    noisy = corrupt.add_noise(y, snr_db=snr_db, noise=noise, babble=babble, random_state=7)
    assert noisy.dtype == np.float32 and noisy.shape == y.shape
    assert corrupt.snr_of(y, noisy.astype(np.float64) - y) == pytest.approx(snr_db, abs=0.5)


def test_speech_top_db_measures_the_snr_over_the_speech_only():
    speech = speechlike(duration_s=2.0)
    padded = np.concatenate([np.zeros(SAMPLE_RATE, dtype=np.float32), speech, np.zeros(SAMPLE_RATE, dtype=np.float32)])
    noisy = corrupt.add_noise(padded, snr_db=10.0, noise="white", speech_top_db=20.0, random_state=0)
    noise = noisy.astype(np.float64) - padded
    from ser_core.audio.dsp import trim

    spoken = trim(padded, top_db=20.0, frame_length=2048, hop_length=512)
    assert 10 * np.log10(corrupt.power(spoken) / corrupt.power(noise)) == pytest.approx(10.0, abs=0.5)
    assert corrupt.snr_of(padded, noise) < 8.0  # over the whole clip, the silence counts against the speech


def test_pink_noise_has_more_energy_low_than_white():
    white, pink = corrupt.white_noise(SAMPLE_RATE, random_state=0), corrupt.pink_noise(SAMPLE_RATE, random_state=0)
    assert corrupt.power(pink) == pytest.approx(1.0, rel=1e-3)
    assert _band_energy_share(pink, low_hz=0, high_hz=500) > 5 * _band_energy_share(white, low_hz=0, high_hz=500)


@pytest.mark.parametrize("call", [
    lambda y, seed: corrupt.add_noise(y, snr_db=10, noise="white", random_state=seed),
    lambda y, seed: corrupt.add_noise(y, snr_db=10, noise="pink", random_state=seed),
    lambda y, seed: corrupt.add_noise(y, snr_db=10, noise="babble", babble=[tone(300.0), tone(410.0, duration_s=0.3)],
                                      random_state=seed),
    lambda y, seed: corrupt.reverberate(y, rt60_s=0.3, random_state=seed),
])
def test_the_same_seed_gives_the_same_samples_and_another_seed_others(call):
    y = speechlike(duration_s=1.0)
    np.testing.assert_array_equal(call(y, 3), call(y, 3))
    np.testing.assert_array_equal(call(y, np.random.default_rng(3)), call(y, 3))
    assert not np.array_equal(call(y, 3), call(y, 4))


def test_reverberation_lengthens_the_tail_and_keeps_the_peak():
    y = speechlike(duration_s=1.0)
    wet = corrupt.reverberate(y, rt60_s=0.5, sample_rate=SAMPLE_RATE, random_state=0)
    assert len(wet) == len(y) + int(0.5 * SAMPLE_RATE)
    assert np.max(np.abs(wet)) == pytest.approx(np.max(np.abs(y)), rel=1e-5)
    tail = wet[len(y):]
    assert corrupt.power(tail[: len(tail) // 4]) > 100 * corrupt.power(tail[-len(tail) // 8:])  # it decays
    longer = corrupt.reverberate(y, rt60_s=1.0, sample_rate=SAMPLE_RATE, random_state=0)
    assert len(longer) > len(wet)


def test_room_impulse_response_decays_by_sixty_db_over_rt60():
    response = corrupt.room_impulse_response(rt60_s=0.4, sample_rate=SAMPLE_RATE, direct_to_reverberant_db=0.0)
    assert response[0] == 1.0
    assert float(np.sum(response[1:].astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)  # 0 dB direct-to-reverberant
    first, last = response[1:801], response[-800:]  # 50 ms at each end of 0.4 s
    assert 10 * np.log10(corrupt.power(first) / corrupt.power(last)) == pytest.approx(60 * 0.35 / 0.4, abs=3.0)


def test_telephone_band_removes_energy_above_4_khz_and_below_300_hz():
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    assert _band_energy_share(y, low_hz=4000) > 0.4
    narrow = corrupt.telephone_band(y, sample_rate=SAMPLE_RATE)
    assert len(narrow) == len(y) and narrow.dtype == np.float32
    assert _band_energy_share(narrow, low_hz=4000) < 1e-4
    assert _band_energy_share(narrow, low_hz=0, high_hz=150) < 1e-3
    assert _band_energy_share(narrow, low_hz=500, high_hz=3000) > 0.8


def test_telephone_band_keeps_a_tone_inside_the_band():
    y = tone(1000.0)
    narrow = corrupt.telephone_band(y, sample_rate=SAMPLE_RATE)
    # The causal filter's start-up transient aside, a 1 kHz tone passes at full level.
    assert corrupt.power(narrow[2000:]) == pytest.approx(corrupt.power(y[2000:]), rel=0.05)


@pytest.mark.parametrize("codec, bitrate_kbps, frame", [("opus", 16, 320), ("mp3", 24, 576)])
def test_codec_round_trip_keeps_length_and_changes_the_samples(codec, bitrate_kbps, frame):
    y = speechlike(duration_s=1.5)
    out = corrupt.codec_round_trip(y, sample_rate=SAMPLE_RATE, codec=codec, bitrate_kbps=bitrate_kbps)
    assert out.dtype == np.float32
    assert abs(len(out) - len(y)) <= frame
    assert not np.allclose(out, y, atol=1e-3)
    # Lossy but still the same sound: most of the energy is where it was.
    assert corrupt.power(out) == pytest.approx(corrupt.power(y), rel=0.5)


def test_a_missing_codec_is_named(monkeypatch):
    import av

    def missing(name, mode="r"):
        raise av.codec.codec.UnknownCodecError(name)

    monkeypatch.setattr(av.codec, "Codec", missing)
    with pytest.raises(SERError, match="no libopus encoder"):
        corrupt.codec_round_trip(tone(), codec="opus")


def test_change_gain_scales_and_clips():
    y = tone(amplitude=0.6)
    np.testing.assert_allclose(corrupt.change_gain(y, factor=0.25), y * 0.25)
    loud = corrupt.change_gain(y, factor=2.0)
    assert np.max(np.abs(loud)) == 1.0
    assert np.max(np.abs(corrupt.change_gain(y, factor=2.0, clip=False))) == pytest.approx(1.2, rel=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda y: corrupt.add_noise(y, snr_db=200), "snr_db is 200; expected a number in -20..80 dB"),
    (lambda y: corrupt.add_noise(y, snr_db=float("nan")), "snr_db"),
    (lambda y: corrupt.add_noise(y, snr_db="10"), "snr_db"),
    (lambda y: corrupt.add_noise(y, noise="brown"), "noise is 'brown'; expected one of white, pink, babble"),
    (lambda y: corrupt.add_noise(y, noise="babble"), "babble needs talkers"),
    (lambda y: corrupt.add_noise(y, noise="white", babble=[y]), "babble clips were given"),
    (lambda y: corrupt.add_noise(y, random_state=-1), "random_state is -1"),
    (lambda y: corrupt.add_noise(y, speech_top_db=0), "speech_top_db is 0"),
    (lambda y: corrupt.add_noise(y, random_state=1.5), "random_state"),
    (lambda y: corrupt.add_noise(np.zeros(100, dtype=np.float32)), "silent"),
    (lambda y: corrupt.add_noise(np.zeros((2, 100), dtype=np.float32)), r"shape \(2, 100\)"),
    (lambda y: corrupt.add_noise(np.array([], dtype=np.float32)), "0 samples"),
    (lambda y: corrupt.add_noise(np.array([0.1, np.nan], dtype=np.float32)), "NaN"),
    (lambda y: corrupt.reverberate(y, rt60_s=0), "rt60_s is 0; expected a number in 0.05..5 s"),
    (lambda y: corrupt.reverberate(y, rt60_s=0.3, sample_rate=16000.0), "sample_rate"),
    (lambda y: corrupt.reverberate(y, direct_to_reverberant_db=100), "direct_to_reverberant_db"),
    (lambda y: corrupt.telephone_band(y, low_hz=3500, high_hz=3000), "low_hz is 3500 Hz and high_hz 3000 Hz"),
    (lambda y: corrupt.telephone_band(y, high_hz=5000), "high_hz is 5000"),
    (lambda y: corrupt.telephone_band(y, sample_rate=8000, narrow_rate=16000), "narrow_rate is 16000 Hz"),
    (lambda y: corrupt.codec_round_trip(y, codec="flac"), "codec is 'flac'; expected one of opus, mp3"),
    (lambda y: corrupt.codec_round_trip(y, bitrate_kbps=1), "bitrate_kbps is 1; expected a number in 6..320 kbit/s"),
    (lambda y: corrupt.codec_round_trip(y, sample_rate=22050), "sample_rate is 22050 Hz; opus encodes at"),
    (lambda y: corrupt.change_gain(y, factor=-1), "gain factor is -1"),
])
def test_bad_parameters_raise_input_error_naming_the_value(call, message):
    with pytest.raises(InputError, match=message):
        call(tone())
