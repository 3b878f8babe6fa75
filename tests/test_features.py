"""ser_core.features: kind names, shapes, the study vector, corpus extraction and caching."""

import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest

import ser_core.features as features
from conftest import SAMPLE_RATE, speechlike, tone
from ser_core.audio.preprocess import PreprocessSettings, load_clip
from ser_core.errors import DecodeError, FeatureError, TooShortError
from ser_core.features.cache import FeatureCache
from ser_core.features import (
    FEATURE_KINDS,
    FeatureSpec,
    extract,
    extract_corpus,
    failed_rows,
    parse_kind,
    pitch_energy_contours,
    study_frames,
)


def study_vector(y, *, sample_rate=SAMPLE_RATE, n_mfcc=40):
    """The study's clip vector written the straightforward librosa way."""
    mfcc = librosa.feature.mfcc(y=y, sr=sample_rate, n_mfcc=n_mfcc)
    delta = librosa.feature.delta(mfcc)
    delta2 = librosa.feature.delta(mfcc, order=2)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sample_rate, n_mels=40), ref=np.max)
    return np.concatenate([mfcc.mean(axis=1), delta.mean(axis=1), delta2.mean(axis=1), mel_db.mean(axis=1)])


def study_clip(path, *, sample_rate=SAMPLE_RATE, remove_dc=True):
    """The study's preprocessing written the librosa way (after this release's DC removal unless told otherwise)."""
    y, _ = librosa.load(path, sr=sample_rate)
    y, _ = librosa.effects.trim(y - np.float32(y.mean()) if remove_dc else y, top_db=20)
    return librosa.util.normalize(y)


# ---------------------------------------------------------------------------
# names


@pytest.mark.parametrize(
    "name, canonical, shape",
    [
        ("MFCC-16000-40", "MFCC-16000-40", (160,)),
        ("MFCC-16000-13", "MFCC-16000-13", (79,)),
        ("MFCC-48000-40", "MFCC-48000-40", (160,)),
        ("mfcc-16000-40", "MFCC-16000-40", (160,)),
        ("FRAMES-16000-40-128", "FRAMES-16000-40-128", (128, 160)),
        ("FRAMES-16000-13-50", "FRAMES-16000-13-50", (50, 79)),
        ("LOGMEL-16000-64-256", "LOGMEL-16000-64-256", (64, 256)),
        ("EGEMAPS-16000", "EGEMAPS-16000", (88,)),
        ("COMPARE-16000", "COMPARE-16000", (6373,)),
        ("w2v2-Mean-ALL", "W2V2-mean-all", None),
        ("W2V2-meanstd-last:/models/My-W2V2", "W2V2-meanstd-last:/models/My-W2V2", None),
        ("W2V2-mean-6:facebook/wav2vec2-large-xlsr-53", "W2V2-mean-6:facebook/wav2vec2-large-xlsr-53", None),
        ("W2V2-mean-all:facebook/wav2vec2-base", "W2V2-mean-all", None),
    ],
)
def test_parse_kind_round_trips(name, canonical, shape):
    spec = parse_kind(name)
    assert spec.name == canonical == str(spec) and spec.shape == shape
    assert parse_kind(spec.name) == spec and parse_kind(spec) is spec


@pytest.mark.parametrize("name", ["MFCC-48000-13", "LOGMEL-16000-64-256", "W2V2-meanstd-3:/models/x", "EGEMAPS-16000"])
def test_spec_dict_round_trip(name):
    spec = parse_kind(name)
    data = spec.to_dict()
    assert data["name"] == name and data["sample_rate"] == spec.sample_rate
    assert data["hop_length"] == spec.hop_length
    assert FeatureSpec.from_dict(data) == spec
    assert FeatureSpec.from_dict({k: v for k, v in data.items() if k != "name"}) == spec


def test_names_encode_non_default_models():
    assert parse_kind("W2V2-mean-all").model == "facebook/wav2vec2-base"
    assert FeatureSpec("W2V2").name == "W2V2-mean-all"
    assert FeatureSpec("W2V2", model="/models/x").name == "W2V2-mean-all:/models/x"
    assert FeatureSpec("W2V2", layers=6, model=Path("/models/x")).name == "W2V2-mean-6:/models/x"
    assert parse_kind("W2V2-mean-all:/models/My-Model").model == "/models/My-Model"  # case kept


@pytest.mark.parametrize(
    "name",
    [
        "MFCC",
        "MFCC-16000",
        "MFCC-16000-0",
        "MFCC-16000-200",
        "MFCC-100-40",
        "FRAMES-16000-40",
        "LOGMEL-16000-64-0",
        "EGEMAPS",
        "W2V2-max-all",
        "W2V2-mean-first",
        "W2V2-mean-all:",
        "SPECTRO-16000",
        "",
    ],
)
def test_parse_kind_rejects_bad_names(name):
    with pytest.raises(FeatureError, match="expected"):
        parse_kind(name)


def test_unknown_name_lists_valid_patterns():
    with pytest.raises(FeatureError) as info:
        parse_kind("CHROMA-16000")
    for pattern in FEATURE_KINDS:
        assert pattern in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [dict(kind="MFCC", n_frames=10), dict(kind="MFCC", n_mels=64), dict(kind="EGEMAPS", n_mfcc=13), dict(kind="W2V2", sample_rate=8000)],
)
def test_spec_rejects_settings_its_name_cannot_hold(kwargs):
    with pytest.raises(FeatureError):
        FeatureSpec(**kwargs)


def test_spec_states_its_stft():
    assert (parse_kind("MFCC-16000-40").n_fft, parse_kind("MFCC-16000-40").hop_length) == (2048, 512)
    assert (parse_kind("LOGMEL-16000-64-300").n_fft, parse_kind("LOGMEL-16000-64-300").hop_length) == (400, 160)
    assert parse_kind("LOGMEL-48000-64-300").hop_length == 480
    assert parse_kind("EGEMAPS-16000").n_fft is None
    assert len(parse_kind("MFCC-16000-13").feature_names()) == 79


# ---------------------------------------------------------------------------
# one clip


@pytest.mark.parametrize("n_mfcc", [40, 13])
@pytest.mark.parametrize("make", [speechlike, tone, lambda: speechlike(duration_s=0.4)], ids=["speech", "tone", "short"])
def test_study_vector_equals_librosa_reference(make, n_mfcc):
    y = librosa.util.normalize(make())
    got = extract(y, spec=f"MFCC-{SAMPLE_RATE}-{n_mfcc}", sample_rate=SAMPLE_RATE)
    assert got.shape == (3 * n_mfcc + 40,) and got.dtype == np.float32
    np.testing.assert_allclose(got, study_vector(y, n_mfcc=n_mfcc), rtol=1e-5, atol=1e-4)


def test_study_vector_on_corpus_clips_at_16k_and_48k(ravdess_16k, ravdess_48k):
    for path, sample_rate in [
        (sorted((ravdess_16k / "Actor_02").glob("*.wav"))[7], 16000),
        (sorted(ravdess_48k.rglob("03-01-02-01-01-02-01.wav"))[0], 48000),  # stereo
    ]:
        settings = PreprocessSettings(sample_rate=sample_rate, remove_dc=False)  # the study's steps exactly
        got = extract(load_clip(path, settings=settings), spec=f"MFCC-{sample_rate}-40", sample_rate=sample_rate)
        expected = study_vector(study_clip(path, sample_rate=sample_rate, remove_dc=False), sample_rate=sample_rate)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("duration_s", [0.3, 1.0, 3.0])
def test_study_frames_match_librosa_per_frame(duration_s):
    y = librosa.util.normalize(speechlike(duration_s=duration_s))
    frames = study_frames(y, sample_rate=SAMPLE_RATE)
    mfcc = librosa.feature.mfcc(y=y, sr=SAMPLE_RATE, n_mfcc=40)
    np.testing.assert_allclose(frames.mfcc, mfcc, rtol=1e-5, atol=1e-3)
    for got, order in [(frames.delta, 1), (frames.delta2, 2)]:
        np.testing.assert_allclose(got, librosa.feature.delta(mfcc, order=order), rtol=1e-4, atol=1e-3)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_mels=40), ref=np.max)
    np.testing.assert_allclose(frames.mel_db, mel_db, atol=1e-3)


def test_very_short_clip_still_has_deltas():
    y = tone(duration_s=0.12)  # 4 STFT frames: librosa.delta's width 9 does not fit
    frames = study_frames(y, sample_rate=SAMPLE_RATE)
    assert frames.mfcc.shape == (40, 4) and np.isfinite(frames.delta2).all()
    assert extract(y, spec="MFCC-16000-40", sample_rate=SAMPLE_RATE).shape == (160,)


def test_frames_are_the_study_matrices_over_time(speech_clip):
    y = librosa.util.normalize(speech_clip)
    frames = study_frames(y, sample_rate=SAMPLE_RATE)
    n = frames.mfcc.shape[1]
    assert frames.times_s[1] == pytest.approx(0.032)
    long = extract(y, spec=f"FRAMES-16000-40-{n + 20}", sample_rate=SAMPLE_RATE)
    assert long.shape == (n + 20, 160)
    np.testing.assert_allclose(long[:n].mean(axis=0), extract(y, spec="MFCC-16000-40", sample_rate=SAMPLE_RATE), rtol=1e-5, atol=1e-4)
    assert not long[n:].any()  # zero padding at the end
    short = extract(y, spec="FRAMES-16000-40-10", sample_rate=SAMPLE_RATE)
    np.testing.assert_array_equal(short, long[:10])


def test_logmel_is_centred_padded_with_silence_and_matches_librosa(speech_clip):
    y = librosa.util.normalize(speech_clip)
    spec = parse_kind("LOGMEL-16000-64-400")
    out = extract(y, spec=spec, sample_rate=SAMPLE_RATE)
    n = 1 + len(y) // spec.hop_length
    before = (400 - n) // 2
    assert out.shape == (64, 400) and n < 400
    assert out.max() == pytest.approx(0.0) and out.min() >= -80.0
    np.testing.assert_array_equal(out[:, :before], -80.0)
    np.testing.assert_array_equal(out[:, before + n:], -80.0)
    reference = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=64), ref=np.max, top_db=80.0
    )
    np.testing.assert_allclose(out[:, before:before + n], reference, atol=1e-3)


def test_logmel_of_a_long_clip_keeps_its_middle(speech_clip):
    y = librosa.util.normalize(np.concatenate([speech_clip] * 3))
    full = extract(y, spec="LOGMEL-16000-64-10000", sample_rate=SAMPLE_RATE)
    n = 1 + len(y) // 160
    middle = extract(y, spec="LOGMEL-16000-64-100", sample_rate=SAMPLE_RATE)
    start = (10000 - n) // 2 + (n - 100) // 2
    np.testing.assert_allclose(middle, full[:, start:start + 100], atol=1e-4)


@pytest.mark.parametrize("kind, size", [("EGEMAPS-16000", 88), pytest.param("COMPARE-16000", 6373, marks=pytest.mark.slow)])
def test_opensmile_functionals(kind, size, speech_clip):
    y = librosa.util.normalize(speech_clip)
    out = extract(y, spec=kind, sample_rate=SAMPLE_RATE)
    assert out.shape == (size,) and np.isfinite(out).all()
    other = extract(librosa.util.normalize(speechlike(pitch_hz=260.0)), spec=kind, sample_rate=SAMPLE_RATE)
    assert not np.allclose(out, other)


def test_wav2vec2_kind_with_a_local_model(tiny_wav2vec2, speech_clip):
    y = librosa.util.normalize(speech_clip)
    for name, size in [(f"W2V2-mean-all:{tiny_wav2vec2}", 32), (f"W2V2-meanstd-last:{tiny_wav2vec2}", 64)]:
        out = extract(y, spec=name, sample_rate=SAMPLE_RATE)
        assert out.shape == (size,) and out.dtype == np.float32


def test_extract_refuses_another_sample_rate(tone_clip):
    with pytest.raises(FeatureError, match="48000 Hz but MFCC-16000-40 expects 16000 Hz"):
        extract(tone_clip, spec="MFCC-16000-40", sample_rate=48000)


def test_pitch_and_energy_contours():
    y = np.concatenate([np.zeros(4000, np.float32), tone(220.0, duration_s=1.0), np.zeros(4000, np.float32)])
    contours = pitch_energy_contours(y, sample_rate=SAMPLE_RATE)
    n = len(contours.times_s)
    assert contours.f0_hz.shape == contours.rms.shape == contours.voiced.shape == (n,)
    assert np.nanmedian(contours.f0_hz) == pytest.approx(220.0, rel=0.02)
    assert not contours.voiced[:3].any() and not contours.voiced[-3:].any()
    assert 0.5 < contours.voiced.mean() < 0.9
    assert contours.times_s[1] == pytest.approx(0.016)


# ---------------------------------------------------------------------------
# corpora


@pytest.fixture
def clip_folder(tmp_path, wav_file):
    paths = [wav_file(speechlike(seed=i, pitch_hz=100 + 30 * i), name=f"clip{i}.wav") for i in range(6)]
    return tmp_path, paths


def test_extract_corpus_matches_one_by_one_and_reports_progress(clip_folder):
    _, paths = clip_folder
    calls = []
    out = extract_corpus(paths, spec="MFCC-16000-40", n_jobs=1, progress=lambda d, t: calls.append((d, t)))
    assert out.shape == (6, 160)
    for row, path in zip(out, paths):  # BLAS threading may change the last float32 bit
        expected = extract(load_clip(path), spec="MFCC-16000-40", sample_rate=SAMPLE_RATE)
        np.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-5)
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.slow
def test_parallel_equals_sequential(clip_folder, tmp_path):
    _, paths = clip_folder
    paths = paths * 3  # enough clips to fan out over 2 processes
    calls = []
    parallel = extract_corpus(paths, spec="FRAMES-16000-40-64", cache=False, n_jobs=2, progress=lambda d, t: calls.append(d))
    sequential = extract_corpus(paths, spec="FRAMES-16000-40-64", cache=False, n_jobs=1)
    np.testing.assert_array_equal(parallel, sequential)
    assert calls[-1] == len(paths) and len(calls) > 2


def test_second_run_comes_from_the_cache(clip_folder, monkeypatch, tmp_path):
    _, paths = clip_folder
    cache = FeatureCache(tmp_path / "cache")
    first = extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1)

    def fail(*args, **kwargs):
        raise AssertionError("features were recomputed")

    monkeypatch.setattr(features.corpus, "_clip_features", fail)
    np.testing.assert_array_equal(extract_corpus(paths, spec="MFCC-16000-40", cache=FeatureCache(cache.root), n_jobs=1), first)
    # a new listing (subset, other order) is served from the per-clip entries
    np.testing.assert_array_equal(extract_corpus(paths[::-2], spec="MFCC-16000-40", cache=cache, n_jobs=1), first[::-2])


def test_changing_a_file_or_a_setting_recomputes_only_that(clip_folder, monkeypatch, tmp_path, wav_file):
    _, paths = clip_folder
    cache = FeatureCache(tmp_path / "cache")
    extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=1)
    computed = []
    original = features.corpus._clip_features

    def counting(path, spec, settings, augmentation):
        computed.append((path, settings.top_db))
        return original(path, spec, settings, augmentation)

    monkeypatch.setattr(features.corpus, "_clip_features", counting)
    wav_file(tone(330.0), name="clip2.wav")  # overwrite one clip
    out = extract_corpus(paths, spec="MFCC-16000-40", cache=FeatureCache(cache.root), n_jobs=1)
    assert computed == [(str(paths[2]), 20.0)]
    expected = extract(load_clip(paths[2]), spec="MFCC-16000-40", sample_rate=SAMPLE_RATE)
    np.testing.assert_allclose(out[2], expected, rtol=1e-5, atol=1e-5)
    computed.clear()
    extract_corpus(paths, spec="MFCC-16000-40", settings=PreprocessSettings(top_db=30), cache=cache, n_jobs=1)
    assert len(computed) == 6 and {t for _, t in computed} == {30.0}


def test_spec_sample_rate_wins_over_settings(clip_folder):
    _, paths = clip_folder
    out = extract_corpus(paths[:2], spec="MFCC-8000-13", cache=False, n_jobs=1)
    expected = extract(load_clip(paths[0], settings=PreprocessSettings(sample_rate=8000)), spec="MFCC-8000-13", sample_rate=8000)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-5)


def test_failing_clip_is_named(clip_folder, wav_file):
    folder, paths = clip_folder
    bad = folder / "broken.wav"
    bad.write_text("not audio")
    short = wav_file(tone(duration_s=0.05), name="short.wav")
    with pytest.raises(DecodeError, match="broken.wav"):
        extract_corpus([*paths, bad], spec="MFCC-16000-40", n_jobs=1)
    with pytest.raises(TooShortError, match=r"short\.wav.*0\.050 s"):
        extract_corpus([short, *paths], spec="MFCC-16000-40", n_jobs=1)
    with pytest.warns(UserWarning, match="skipped 2 of 8 clips"):
        out = extract_corpus([*paths, bad, short], spec="MFCC-16000-40", n_jobs=1, on_error="skip")
    np.testing.assert_array_equal(failed_rows(out), [False] * 6 + [True, True])
    assert np.isfinite(out[:6]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(paths=[]), "0 clips"),
        (dict(paths=["/no/such/file.wav"]), "no audio file"),
        (dict(on_error="ignore"), "on_error"),
        (dict(n_jobs=0), "n_jobs"),
        (dict(spec="MFCC-16000"), "unknown feature kind"),
    ],
)
def test_extract_corpus_rejects_bad_arguments(kwargs, message, clip_folder):
    _, paths = clip_folder
    arguments = dict(paths=paths, spec="MFCC-16000-40", n_jobs=1) | kwargs
    with pytest.raises(FeatureError, match=message):
        extract_corpus(arguments.pop("paths"), **arguments)


@pytest.mark.slow
def test_real_corpus_end_to_end_warm_load_reads_only_the_cache(tiny_ravdess, tmp_path, monkeypatch):
    import ser_core.features.corpus as corpus

    paths = sorted(tiny_ravdess.rglob("*.wav"))
    cache = FeatureCache(tmp_path / "cache")
    cold = extract_corpus(paths, spec="MFCC-16000-40", cache=cache, n_jobs=2)
    assert cold.shape == (48, 160) and np.isfinite(cold).all()

    def no_extraction(*args, **kwargs):
        raise AssertionError("a warm load extracted features again")

    monkeypatch.setattr(corpus, "run_batches", no_extraction)
    warm = extract_corpus(paths, spec="MFCC-16000-40", cache=FeatureCache(cache.root))
    np.testing.assert_array_equal(warm, cold)
    expected = study_vector(study_clip(paths[5]))
    np.testing.assert_allclose(cold[5], expected, rtol=1e-5, atol=1e-4)


def test_identical_files_share_one_entry(tmp_path, wav_file):
    first = wav_file(speechlike(), name="a.wav")
    second = tmp_path / "b.wav"
    shutil.copy(first, second)
    cache = FeatureCache(tmp_path / "cache")
    out = extract_corpus([first, second], spec="MFCC-16000-40", cache=cache, n_jobs=1)
    np.testing.assert_array_equal(out[0], out[1])
    assert len(list((cache.root / "clips").rglob("*.npz"))) == 1


def test_local_wav2vec2_models_are_cached_by_their_files(tiny_wav2vec2, tmp_path, wav_file):
    import os

    clip = wav_file(speechlike())
    spec = parse_kind(f"W2V2-mean-all:{tiny_wav2vec2}")
    cache = FeatureCache(tmp_path / "cache")
    first = extract_corpus([clip], spec=spec, cache=cache)
    np.testing.assert_array_equal(extract_corpus([clip], spec=spec, cache=cache), first)
    key = spec.cache_key
    weights = next(p for p in tiny_wav2vec2.iterdir() if p.suffix == ".safetensors")
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert parse_kind(spec.name).cache_key != key
    assert parse_kind("W2V2-mean-all").cache_key == "W2V2-mean-all@v2"


def test_opensmile_after_a_training_framework_is_refused_not_a_crash(monkeypatch):
    import sys
    import types

    from ser_core.errors import FeatureError
    from ser_core.features import opensmile as smile_module

    smile_module.smile.cache_clear()
    monkeypatch.delitem(sys.modules, "opensmile")
    monkeypatch.setitem(sys.modules, "tensorflow", sys.modules.get("tensorflow") or types.ModuleType("tensorflow"))
    with pytest.raises(FeatureError, match="loaded tensorflow.* before opensmile"):
        smile_module.smile("EGEMAPS")
    smile_module.smile.cache_clear()
