"""ser_core.audio.dsp repeats librosa's arithmetic: the same trims, spectrograms, filters and dB on real clips."""

import librosa
import numpy as np
import pytest

from ser_core.audio import dsp


def _clips(ravdess_16k, n=12):
    import soundfile as sf

    paths = sorted(ravdess_16k.rglob("*.wav"))[:: max(1, len(sorted(ravdess_16k.rglob("*.wav"))) // n)][:n]
    return [sf.read(path, dtype="float32")[0] for path in paths]


def test_the_hann_window_is_scipys_periodic_one():
    import scipy.signal

    for n in (400, 2048, 511):
        np.testing.assert_array_equal(dsp.hann(n), scipy.signal.get_window("hann", n, fftbins=True))


@pytest.mark.parametrize("sample_rate, n_fft, n_mels", [(16000, 400, 64), (16000, 2048, 128), (16000, 2048, 40),
                                                        (48000, 1200, 64), (8000, 256, 40)])
def test_the_mel_filters_are_librosas(sample_rate, n_fft, n_mels):
    expected = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, dtype=np.float32)
    np.testing.assert_array_equal(dsp.mel_filterbank(sample_rate, n_fft, n_mels), expected)


def test_trim_cuts_where_librosa_cuts(ravdess_16k):
    for y in _clips(ravdess_16k):
        y = y - np.float32(y.mean())
        for top_db in (20.0, 30.0):
            expected, _ = librosa.effects.trim(y, top_db=top_db, frame_length=2048, hop_length=512)
            np.testing.assert_array_equal(dsp.trim(y, top_db=top_db, frame_length=2048, hop_length=512), expected)
    silence = np.zeros(4000, dtype=np.float32)  # librosa keeps all of it (0 dB below a zero peak): so do we
    assert dsp.trim(silence, top_db=20, frame_length=2048, hop_length=512).size == librosa.effects.trim(silence)[0].size


@pytest.mark.parametrize("n_fft, hop_length", [(400, 160), (2048, 512)])
def test_the_power_spectrogram_is_librosas(ravdess_16k, n_fft, hop_length):
    for y in [*_clips(ravdess_16k, n=6), np.random.default_rng(0).normal(size=300).astype(np.float32)]:
        expected = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2
        np.testing.assert_allclose(dsp.stft_power(y, n_fft=n_fft, hop_length=hop_length), expected, rtol=1e-5,
                                   atol=1e-7 * float(expected.max()))


def test_decibels_are_librosas():
    power = np.random.default_rng(1).gamma(0.5, size=(64, 300)).astype(np.float32)
    power[:, :10] = 0.0
    np.testing.assert_array_equal(dsp.power_to_db(power, ref=np.max, top_db=80.0),
                                  librosa.power_to_db(power, ref=np.max, top_db=80.0))
    np.testing.assert_array_equal(dsp.power_to_db(power, ref=1.0, top_db=None), librosa.power_to_db(power, top_db=None))


@pytest.mark.parametrize("orig_sr, target_sr", [(48000, 16000), (8000, 16000), (16000, 22050), (44100, 16000)])
def test_resampling_is_librosas_soxr_hq(orig_sr, target_sr):
    y = np.random.default_rng(2).normal(size=orig_sr // 3 + 7).astype(np.float32)
    expected = librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq")
    got = dsp.resample(y, orig_sr=orig_sr, target_sr=target_sr)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_yin_finds_librosas_pitch_on_speech(ravdess_16k):
    for y in _clips(ravdess_16k, n=8):
        for frame_length, hop in ((1024, 256), (1024, 160)):
            expected = librosa.yin(y, fmin=65.0, fmax=500.0, sr=16000, frame_length=frame_length, hop_length=hop)
            got = dsp.yin(y, fmin=65.0, fmax=500.0, sample_rate=16000, frame_length=frame_length, hop_length=hop)
            np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_yin_hears_a_220_hz_tone():
    t = np.arange(16000) / 16000
    f0 = dsp.yin(np.sin(2 * np.pi * 220 * t).astype(np.float32), fmin=65.0, fmax=500.0, sample_rate=16000,
                 frame_length=1024, hop_length=256)
    assert np.median(f0) == pytest.approx(220.0, rel=5e-3)  # YIN is within a quarter of a percent


def test_amplitude_db_is_librosas():
    amplitude = np.abs(np.random.default_rng(0).standard_normal(500)).astype(np.float32)
    np.testing.assert_allclose(dsp.amplitude_to_db(amplitude, ref=np.max, top_db=60.0),
                               librosa.amplitude_to_db(amplitude, ref=np.max, top_db=60.0), rtol=1e-6, atol=1e-5)


def test_mel_filters_up_to_a_chosen_frequency_are_librosas():
    expected = librosa.filters.mel(sr=16000, n_fft=512, n_mels=24, fmax=4000.0, dtype=np.float32)
    np.testing.assert_array_equal(dsp.mel_filterbank(16000, 512, 24, fmax=4000.0), expected)


def test_duplicate_fingerprints_are_librosas_mel_db(ravdess_16k):
    from ser_core.data.duplicates import FINGERPRINT_BANDS, FINGERPRINT_FLOOR_DB, FINGERPRINT_FMAX_HZ, fingerprint

    for y in _clips(ravdess_16k, n=4):
        mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=int(round(0.01 * 16000)),
                                             n_mels=FINGERPRINT_BANDS, fmax=FINGERPRINT_FMAX_HZ, power=2.0)
        expected = librosa.power_to_db(mel, ref=np.max, top_db=FINGERPRINT_FLOOR_DB).T.astype(np.float16)
        np.testing.assert_allclose(fingerprint(y).astype(np.float32), expected.astype(np.float32), atol=0.07)
