"""ser_core.audio.preprocess: decoding, resampling, trimming, normalising, streaming, bad input."""

import io
import tracemalloc

import av
import librosa
import numpy as np
import pytest
import soundfile as sf

from conftest import SAMPLE_RATE, speechlike, tone
from ser_core.audio.preprocess import (AudioInfo, PreprocessSettings, iter_chunks, load_audio, load_clip, preprocess,
                                       probe)
from ser_core.errors import (
    AudioError,
    DecodeError,
    EmptyAudioError,
    InputError,
    InvalidSamplesError,
    SERError,
    SilentAudioError,
    TooLongError,
    TooShortError,
)


def dominant_hz(y, sample_rate=SAMPLE_RATE):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1 / sample_rate)[np.argmax(spectrum)]


def encode_pyav(y, *, container, codec, rate, sample_rate=SAMPLE_RATE):
    """Encode mono float audio with PyAV (ffmpeg) into bytes."""
    buffer = io.BytesIO()
    out = av.open(buffer, mode="w", format=container)
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "mono"
    frame = av.AudioFrame.from_ndarray(y[None, :].astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = sample_rate
    resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
    for converted in [*resampler.resample(frame), *resampler.resample(None)]:
        for packet in stream.encode(converted):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# settings


def test_settings_round_trip_and_key():
    settings = PreprocessSettings(sample_rate=48000, top_db=30, normalize=False, min_duration_s=0.2)
    assert PreprocessSettings.from_dict(settings.to_dict()) == settings
    assert settings.to_dict() == {"sample_rate": 48000, "top_db": 30.0, "normalize": False, "min_duration_s": 0.2,
                                  "remove_dc": True}
    assert settings.key != PreprocessSettings().key
    assert PreprocessSettings().key == "sr16000-top20-norm1-min0.1-dc1"


def test_settings_of_an_older_model_folder_keep_their_preprocessing():
    old = PreprocessSettings.from_dict({"sample_rate": 16000, "top_db": 20.0, "normalize": True, "min_duration_s": 0.1})
    assert old.remove_dc is False
    assert old.key == "sr16000-top20-norm1-min0.1"  # the cache key such folders always had


@pytest.mark.parametrize(
    "kwargs",
    [dict(sample_rate=0), dict(sample_rate=16000.5), dict(top_db=-5), dict(min_duration_s=-1), dict(top_db=float("nan"))],
)
def test_settings_reject_bad_values(kwargs):
    with pytest.raises(InputError):
        PreprocessSettings(**kwargs)


def test_settings_from_dict_rejects_unknown_keys():
    with pytest.raises(InputError, match="unknown preprocessing settings"):
        PreprocessSettings.from_dict({"sample_rate": 16000, "trim": True})


# ---------------------------------------------------------------------------
# bad input: each raises its own error with a message saying what was wrong


def _write_bytes(tmp_path, data, name="clip.wav"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


BAD_FILES = {
    "empty file": (lambda tmp, wav: _write_bytes(tmp, b""), EmptyAudioError, "0 bytes"),
    "text renamed .wav": (lambda tmp, wav: _write_bytes(tmp, b"just some notes\n" * 40), DecodeError, "could not decode"),
    "random bytes": (
        lambda tmp, wav: _write_bytes(tmp, np.random.default_rng(3).bytes(20000), "noise.bin"),
        DecodeError,
        "not audio",
    ),
    "silence": (lambda tmp, wav: wav(np.zeros(SAMPLE_RATE)), SilentAudioError, "silent"),
    "0.05 s clip": (lambda tmp, wav: wav(tone(duration_s=0.05)), TooShortError, r"0\.050 s"),
    "NaN samples": (
        lambda tmp, wav: wav(np.where(np.arange(SAMPLE_RATE) == 10, np.nan, tone()), subtype="FLOAT"),
        InvalidSamplesError,
        "NaN or infinite",
    ),
    "header only": (lambda tmp, wav: wav(np.zeros(0)), EmptyAudioError, "0 samples"),
    "missing file": (lambda tmp, wav: tmp / "nope.wav", AudioError, "no audio file"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_raise_their_error(case, tmp_path, wav_file):
    make, error, message = BAD_FILES[case]
    path = make(tmp_path, wav_file)
    with pytest.raises(error, match=message) as info:
        load_clip(path)
    assert isinstance(info.value, SERError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "y, error",
    [
        (np.array([], dtype=np.float32), EmptyAudioError),
        (np.full(SAMPLE_RATE, 1e-6, dtype=np.float32), SilentAudioError),
        (np.where(np.arange(SAMPLE_RATE) == 5, np.inf, tone()).astype(np.float32), InvalidSamplesError),
        (np.stack([tone(), tone()]), AudioError),
        (tone(duration_s=0.05), TooShortError),
    ],
    ids=["empty", "below floor", "inf", "2-D", "too short"],
)
def test_preprocess_rejects_bad_arrays(y, error):
    with pytest.raises(error):
        preprocess(y, sample_rate=SAMPLE_RATE)


@pytest.mark.parametrize("source", [b"", io.BytesIO(b"")], ids=["bytes", "file object"])
def test_empty_buffers(source):
    with pytest.raises(EmptyAudioError, match="0 bytes"):
        load_audio(source)


def test_unsupported_source_type():
    with pytest.raises(AudioError, match="expected a path, bytes or a binary file object"):
        load_audio(12345)


@pytest.mark.parametrize("sample_rate", [0, 16000.0, True])
def test_bad_target_rate(sample_rate, wav_file):
    with pytest.raises(InputError, match="sample_rate"):
        load_audio(wav_file(tone()), sample_rate=sample_rate)


def test_too_long_is_refused_before_decoding(wav_file):
    path = wav_file(tone(duration_s=3.0))
    with pytest.raises(TooLongError, match=r"3\.0 s; at most 2 s"):
        load_audio(path, max_duration_s=2)
    assert load_audio(path, max_duration_s=5).size == 3 * SAMPLE_RATE


def test_too_long_stream_without_declared_duration():
    data = encode_pyav(tone(duration_s=3.0), container="webm", codec="libopus", rate=48000)
    with pytest.raises(TooLongError):
        load_audio(data, max_duration_s=1.0)


# ---------------------------------------------------------------------------
# preprocessing


def test_preprocess_trims_and_normalises(speech_clip):
    y = preprocess(speech_clip, sample_rate=SAMPLE_RATE)
    assert y.dtype == np.float32
    assert np.max(np.abs(y)) == pytest.approx(1.0)
    # 0.3 s of silence was padded at each end of the 2 s voiced signal
    assert 1.2 * SAMPLE_RATE < y.size < len(speech_clip) - 0.5 * SAMPLE_RATE
    centred = speech_clip - np.float32(np.mean(speech_clip, dtype=np.float64))
    reference, _ = librosa.effects.trim(centred, top_db=20)
    np.testing.assert_array_equal(y, librosa.util.normalize(reference))


def test_preprocess_options_can_be_turned_off(speech_clip):
    y = preprocess(speech_clip, sample_rate=SAMPLE_RATE, top_db=None, normalize=False, remove_dc=False)
    np.testing.assert_array_equal(y, speech_clip)


@pytest.mark.parametrize("offset", [0.01, -0.05, 0.3])
def test_a_dc_offset_changes_nothing(speech_clip, offset):
    clean = preprocess(speech_clip, sample_rate=SAMPLE_RATE)
    shifted = preprocess(speech_clip + np.float32(offset), sample_rate=SAMPLE_RATE)
    np.testing.assert_allclose(shifted, clean, atol=1e-5)


@pytest.mark.parametrize("level", [0.5, -0.2, 1e-3])
def test_a_constant_signal_is_silent(level):
    with pytest.raises(SilentAudioError, match="constant"):
        preprocess(np.full(3 * SAMPLE_RATE, level, dtype=np.float32), sample_rate=SAMPLE_RATE)


def test_noise_and_tone_pass(noise_clip, tone_clip):
    assert preprocess(noise_clip, sample_rate=SAMPLE_RATE).size > 0.9 * SAMPLE_RATE
    assert preprocess(tone_clip, sample_rate=SAMPLE_RATE).size == tone_clip.size


# ---------------------------------------------------------------------------
# formats and sources


@pytest.mark.parametrize(
    "fmt, subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", "MPEG_LAYER_III")]
)
def test_soundfile_formats_decode(fmt, subtype, tmp_path):
    y = tone(440.0, duration_s=1.0)
    path = tmp_path / f"clip.{fmt.lower()}"
    rate = 48000 if subtype == "OPUS" else SAMPLE_RATE
    sf.write(path, librosa.resample(y, orig_sr=SAMPLE_RATE, target_sr=rate), rate, format=fmt, subtype=subtype)
    decoded = load_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(decoded.size - SAMPLE_RATE) < 0.08 * SAMPLE_RATE
    assert dominant_hz(decoded) == pytest.approx(440.0, abs=3)


@pytest.mark.parametrize(
    "container, codec, rate",
    [("mp3", "libmp3lame", 16000), ("webm", "libopus", 48000), ("ipod", "aac", 16000), ("ogg", "libopus", 48000)],
    ids=["mp3", "webm-opus", "m4a-aac", "ogg-opus"],
)
def test_browser_formats_decode_through_pyav(container, codec, rate, tmp_path):
    y = tone(440.0, duration_s=1.0)
    data = encode_pyav(y, container=container, codec=codec, rate=rate)
    path = tmp_path / f"recording.{'m4a' if container == 'ipod' else container}"
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):
        decoded = load_audio(source)
        assert abs(decoded.size - SAMPLE_RATE) < 0.1 * SAMPLE_RATE
        assert dominant_hz(decoded) == pytest.approx(440.0, abs=3)
    info = probe(data)
    assert info.sample_rate == rate and info.channels == 1
    assert info.duration_s == pytest.approx(1.0, abs=0.1)


def test_wav_bytes_and_file_object_match_path(wav_file):
    path = wav_file(speechlike())
    from_path = load_audio(path)
    np.testing.assert_array_equal(load_audio(path.read_bytes()), from_path)
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(load_audio(handle), from_path)
    np.testing.assert_array_equal(load_clip(io.BytesIO(path.read_bytes())), load_clip(path))


def test_stereo_is_averaged_and_resampled(tmp_path):
    left, right = tone(300.0, sample_rate=44100), tone(1200.0, sample_rate=44100, amplitude=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="FLOAT")
    y = load_audio(path, sample_rate=SAMPLE_RATE)
    expected = librosa.resample((left + right) / 2, orig_sr=44100, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    np.testing.assert_allclose(y, expected, atol=1e-6)
    assert probe(path) == AudioInfo(duration_s=1.0, sample_rate=44100, channels=2)


# ---------------------------------------------------------------------------
# the real corpus


def test_ravdess_48k_stereo_decodes_to_mono_16k(ravdess_48k):
    stereo = sorted(p for p in ravdess_48k.rglob("*.wav") if sf.info(p).channels == 2)
    assert len(stereo) == 2
    for path in stereo:
        y = load_audio(path)
        reference, _ = librosa.load(path, sr=SAMPLE_RATE)
        assert y.ndim == 1 and y.dtype == np.float32
        np.testing.assert_allclose(y, reference, atol=1e-6)
        info = probe(path)
        assert (info.sample_rate, info.channels) == (48000, 2)
        assert info.duration_s == pytest.approx(y.size / SAMPLE_RATE, abs=1e-3)


def test_ravdess_16k_clip_matches_study_preprocessing(ravdess_16k):
    path = next(iter(sorted((ravdess_16k / "Actor_01").glob("*.wav"))))
    y, _ = librosa.load(path, sr=SAMPLE_RATE)
    y, _ = librosa.effects.trim(y, top_db=20)
    study = PreprocessSettings(remove_dc=False)  # the study's steps exactly
    np.testing.assert_array_equal(load_clip(path, settings=study), librosa.util.normalize(y))


# ---------------------------------------------------------------------------
# streaming


def test_iter_chunks_matches_whole_load(ravdess_48k):
    path = sorted(ravdess_48k.rglob("*.wav"))[0]
    whole = load_audio(path)
    chunks = list(iter_chunks(path, sample_rate=SAMPLE_RATE, chunk_s=1.0))
    assert all(len(c) == SAMPLE_RATE for c in chunks[:-1]) and 0 < len(chunks[-1]) <= SAMPLE_RATE
    joined = np.concatenate(chunks)
    assert abs(joined.size - whole.size) <= 2
    n = min(joined.size, whole.size)
    np.testing.assert_allclose(joined[:n], whole[:n], atol=1e-5)


@pytest.mark.parametrize("chunk_s", [0, -1.0, float("nan")])
def test_iter_chunks_rejects_bad_chunk_length(chunk_s, wav_file):
    with pytest.raises(InputError, match="chunk_s"):
        next(iter_chunks(wav_file(tone()), chunk_s=chunk_s))


@pytest.mark.slow
def test_iter_chunks_ten_minutes_at_48k_stays_bounded(tmp_path):
    path = tmp_path / "long.wav"
    rate, minutes = 48000, 10
    block = np.stack([tone(200.0, duration_s=10.0, sample_rate=rate)] * 2, axis=1)
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16") as handle:
        for _ in range(minutes * 6):
            handle.write(block)
    whole_at_48k_bytes = minutes * 60 * rate * 2 * 4  # 230 MB as float32 stereo
    chunk_n = 30 * SAMPLE_RATE
    tracemalloc.start()
    total = 0
    try:
        for chunk in iter_chunks(path, sample_rate=SAMPLE_RATE, chunk_s=30.0):
            assert chunk.dtype == np.float32 and len(chunk) <= chunk_n
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert abs(total - minutes * 60 * SAMPLE_RATE) <= 2
    assert peak < 12 * chunk_n * 4  # a few chunks' worth (1.9 MB each), not the file
    assert peak < whole_at_48k_bytes / 20
    assert probe(path).duration_s == pytest.approx(minutes * 60)
    with pytest.raises(TooLongError):
        load_audio(path, max_duration_s=60)
