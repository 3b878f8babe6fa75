"""Shared fixtures: synthetic audio for unit tests, the real corpus for end-to-end ones."""

import importlib.util
import os
from pathlib import Path

import numpy as np
# opensmile's native library crashes the process (segmentation fault) when it is first loaded
# after TensorFlow and torch; several test files train Keras or torch models before others
# extract ComParE or eGeMAPS features in the same process, so it is loaded first.
import opensmile  # noqa: F401  (import order matters, see above)
# aiortc's native SRTP library crashes the process when it is first imported after TensorFlow
# (ui/__init__.py); the dashboard imports it before it loads a model, and so must the tests,
# whose Keras training and Predict pages share one process.
import aiortc  # noqa: F401  (import order matters, see above)
import pytest
import soundfile as sf

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RAVDESS_16K = SHARED_DATA / "ravdess-16k"
RAVDESS_48K = SHARED_DATA / "ravdess-48k-sample"
SAMPLE_RATE = 16000

#: Tests of the study's Keras networks skip, rather than fail, where TensorFlow is not installed.
requires_keras = pytest.mark.skipif(importlib.util.find_spec("keras") is None,
                                    reason="needs TensorFlow/Keras (tensorflow-cpu, in requirements-train.txt)")
#: Modules only requirements-train.txt installs: prediction, the dashboard's pages and the CLI's
#: predict and evaluate must import none of them (the hosted install, requirements.txt, lacks them).
NOT_HOSTED = ("torch", "tensorflow", "keras", "transformers", "librosa", "numba", "onnx", "dask", "distributed")


def _require(path: Path) -> Path:
    """Return path; in CI a missing corpus is a failure, elsewhere a skip with the reason."""
    if path.is_dir():
        return path
    message = f"corpus folder {path} is missing (it lives in ../shared/data beside the project)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ravdess_16k() -> Path:
    """The 16 kHz RAVDESS actors 01-20."""
    return _require(RAVDESS_16K)


@pytest.fixture(scope="session")
def ravdess_48k() -> Path:
    """Actor 01 at 48 kHz exactly as released (two stereo files)."""
    return _require(RAVDESS_48K)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's caches, scratch areas and job records out of the user's folders and the repo."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("SER_CACHE_DIR", str(base / "ser-cache"))
    monkeypatch.setenv("SER_SCRATCH_DIR", str(base / "scratch"))
    monkeypatch.setenv("SER_RUNS_DIR", str(base / "runs"))


@pytest.fixture(scope="session", autouse=True)
def _shipped_models_stay_untouched():
    """The whole suite must leave artifacts/ byte for byte as it found it."""
    import hashlib

    root = Path(__file__).resolve().parents[1] / "artifacts"

    def digest():
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    before = digest()
    yield
    assert digest() == before, "the test suite changed the shipped models in artifacts/"


def tone(frequency_hz=220.0, *, duration_s=1.0, sample_rate=SAMPLE_RATE, amplitude=0.5):
    """A sine tone, float32 mono."""
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency_hz * t)).astype(np.float32)


def speechlike(*, duration_s=2.0, sample_rate=SAMPLE_RATE, seed=0, pitch_hz=140.0):
    """A voiced, amplitude-modulated harmonic signal with silence at both ends."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = pitch_hz * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) * np.hanning(n)
    y = 0.3 * voiced * envelope + 0.005 * rng.standard_normal(n)
    pad = np.zeros(int(0.3 * sample_rate))
    return np.concatenate([pad, y, pad]).astype(np.float32)


@pytest.fixture
def tone_clip():
    return tone()


@pytest.fixture
def speech_clip():
    return speechlike()


@pytest.fixture
def silence_clip():
    return np.zeros(SAMPLE_RATE, dtype=np.float32)


@pytest.fixture
def noise_clip():
    return (0.1 * np.random.default_rng(1).standard_normal(SAMPLE_RATE)).astype(np.float32)


@pytest.fixture
def wav_file(tmp_path):
    """Write a clip to a WAV file and return its path: wav_file(y, name=..., sample_rate=...)."""

    def write(y, *, name="clip.wav", sample_rate=SAMPLE_RATE, subtype="PCM_16"):
        path = tmp_path / name
        sf.write(path, y, sample_rate, subtype=subtype)
        return path

    return write


@pytest.fixture
def tiny_ravdess(tmp_path, ravdess_16k):
    """A small RAVDESS folder (2 clips per emotion for 3 actors) linked from the real corpus."""
    root = tmp_path / "tiny_ravdess"
    for actor in ("01", "02", "03"):
        folder = root / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for emotion in range(1, 9):
            for path in sorted((ravdess_16k / f"Actor_{actor}").glob(f"03-01-{emotion:02d}-*.wav"))[:2]:
                (folder / path.name).symlink_to(path)
    return root


#: EmoDB's emotion letters for RAVDESS emotions; RAVDESS's calm stands in for EmoDB's boredom (L).
EMODB_LETTERS = {"neutral": "N", "happy": "F", "sad": "T", "angry": "W", "fearful": "A", "disgust": "E", "calm": "L"}


@pytest.fixture
def tiny_emodb(tmp_path, ravdess_16k):
    """An EmoDB-named folder of 28 real clips (actors 04, 05 renamed as speakers 03, 08); calm clips become boredom."""
    root = tmp_path / "tiny_emodb" / "wav"
    root.mkdir(parents=True)
    emotions = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust")
    for actor, speaker in (("04", "03"), ("05", "08")):
        for code, emotion in enumerate(emotions, start=1):
            clips = sorted((ravdess_16k / f"Actor_{actor}").glob(f"03-01-{code:02d}-*.wav"))[:2]
            for take, path in zip("ab", clips):
                (root / f"{speaker}a0{code}{EMODB_LETTERS[emotion]}{take}.wav").symlink_to(path)
    return root.parent


#: The four labels of the tiny manifest corpus, from the RAVDESS emotion each stands for.
MANIFEST_LABELS = {"happy": "alegría", "sad": "tristeza", "angry": "ira", "calm": "calma"}


@pytest.fixture
def tiny_manifest(tmp_path, ravdess_16k):
    """A CSV manifest (relative paths, 4 labels in Spanish, speaker column) over 24 real clips of actors 01-03."""
    import csv

    root = tmp_path / "tiny_manifest"
    (root / "audio").mkdir(parents=True)
    codes = {"calm": 2, "happy": 3, "sad": 4, "angry": 5}
    rows = []
    for actor in ("01", "02", "03"):
        for emotion, label in MANIFEST_LABELS.items():
            for path in sorted((ravdess_16k / f"Actor_{actor}").glob(f"03-01-{codes[emotion]:02d}-*.wav"))[:2]:
                link = root / "audio" / f"take_{len(rows):03d}.wav"
                link.symlink_to(path)
                rows.append({"path": f"audio/{link.name}", "label": label, "speaker": f"s{actor}"})
    manifest = root / "clips.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "speaker"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


#: The synthetic corpora of ``tiny_corpora``: each with its labels (corpus ``c`` records calm, the others angry).
TINY_CORPORA = {"a": ("happy", "sad", "angry"), "b": ("happy", "sad", "angry"), "c": ("happy", "sad", "calm")}
#: The tone of each label in ``tiny_corpora`` (Hz), so a linear model can learn them from MFCCs.
_TONES_HZ = {"happy": 520.0, "sad": 140.0, "angry": 300.0, "calm": 200.0}


def write_tone(path: Path, *, frequency_hz: float, seed: int, duration_s: float = 0.5, noise: float = 0.05) -> Path:
    """A tone with a little noise (distinct bytes per seed), written as a 16-bit WAV."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    wobble = 1.0 + 0.03 * rng.standard_normal()
    y = 0.4 * np.sin(2 * np.pi * frequency_hz * wobble * t) * np.hanning(len(t))
    y = y + noise * rng.standard_normal(len(t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory) -> Path:
    """``all.csv``: 3 synthetic corpora x 2 speakers x 3 labels x 3 clips (54 tones), columns path,label,speaker,corpus.

    Each corpus sounds a little different (its own noise level), speakers are written with
    their corpus (``a:s1``), and corpus ``c`` has calm where the others have angry.
    """
    import csv

    root = tmp_path_factory.mktemp("tiny_corpora")
    rows, seed = [], 0
    for number, (corpus, labels) in enumerate(TINY_CORPORA.items()):
        for speaker in ("s1", "s2"):
            for label in labels:
                for take in range(3):
                    seed += 1
                    path = write_tone(root / corpus / f"{speaker}_{label}_{take}.wav", frequency_hz=_TONES_HZ[label],
                                      seed=seed, noise=0.02 + 0.02 * number)
                    rows.append({"path": path.relative_to(root).as_posix(), "label": label,
                                 "speaker": f"{corpus}:{speaker}", "corpus": corpus})
    manifest = root / "all.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "speaker", "corpus"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


@pytest.fixture
def http_file_server():
    """A local HTTP server on 127.0.0.1 serving in-memory files, with HTTP Range support.

    Yields an object with ``url(name)``, ``files`` (name -> bytes), ``requests`` (the
    (path, Range header) of every GET), ``truncate_once`` (names whose next response
    stops half-way) and ``honor_range`` (set False to answer 200 to Range requests).
    """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    state = SimpleNamespace(files={}, requests=[], truncate_once=set(), honor_range=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.lstrip("/").split("?")[0]
            range_header = self.headers.get("Range")
            state.requests.append((name, range_header))
            if name not in state.files:
                self.send_error(404, "not found")
                return
            data = state.files[name]
            start = 0
            if range_header and state.honor_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if name in state.truncate_once:
                state.truncate_once.discard(name)
                body = body[: len(body) // 2]
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = lambda name: f"http://127.0.0.1:{server.server_port}/{name}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def make_ravdess_zip():
    """Write a RAVDESS-like zip: make_ravdess_zip(path, names), one short tone WAV per name."""
    return _write_ravdess_zip


def _write_ravdess_zip(path, names, *, sample_rate=SAMPLE_RATE, duration_s=0.2):
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for number, name in enumerate(names):
            buffer = io.BytesIO()
            sf.write(buffer, tone(200.0 + 20 * number, duration_s=duration_s, sample_rate=sample_rate),
                     sample_rate, format="WAV", subtype="PCM_16")
            archive.writestr(name, buffer.getvalue())
    return path


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory):
    """A tiny randomly initialised Wav2Vec2 (2 layers, width 32) saved like a hub checkpoint."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(32, 32),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
    )
    folder = tmp_path_factory.mktemp("tiny-wav2vec2")
    Wav2Vec2Model(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, do_normalize=True).save_pretrained(folder)
    return folder


# ---------------------------------------------------------------- dashboard tests (issue 4)
@pytest.fixture(scope="session")
def app_corpus(tmp_path_factory, ravdess_16k):
    """A tiny RAVDESS folder for the pages: 2 clips per emotion of actors 01-03."""
    from app_support import build_tiny_corpus

    return build_tiny_corpus(tmp_path_factory.mktemp("app-corpus"), ravdess_16k)


@pytest.fixture(scope="session")
def app_models(tmp_path_factory, app_corpus):
    """An artifacts folder holding one small trained model (the default), built with ser_core."""
    from app_support import train_tiny_model

    root = tmp_path_factory.mktemp("app-artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ser-cache"))
        train_tiny_model(root, app_corpus)
    return root


@pytest.fixture
def app_env(monkeypatch, tmp_path, app_corpus, app_models):
    """Point the dashboard at the tiny corpus, the tiny model and a private runs folder."""
    monkeypatch.setenv("SER_MODE", "local")
    monkeypatch.setenv("SER_DATA_DIR", str(app_corpus))
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(app_models))
    monkeypatch.setenv("SER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("SER_SCRATCH_DIR", str(tmp_path / "scratch"))
    return {"data": app_corpus, "artifacts": app_models, "runs": tmp_path / "runs", "scratch": tmp_path / "scratch"}


# ---------------------------------------------------------------- speaker adaptation (issue 5)
TINY_ADAPTIVE_MODEL = "tiny-adaptive"


@pytest.fixture(scope="session")
def adaptive_models(tmp_path_factory, app_corpus):
    """An artifacts folder whose default is a small adaptive_linear model (MFCC-16000-13, both heads)."""
    from ser_core.data.index import index_corpus
    from ser_core.features import extract_corpus, parse_kind
    from ser_core.modelfolder.read import set_default_model
    from ser_core.modelfolder.save import save_artifact
    from ser_core.models.adaptive_linear import AdaptiveLinearClassifier

    root = tmp_path_factory.mktemp("adaptive-artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ser-cache"))
        clips = index_corpus(app_corpus).clips
        X = extract_corpus(list(clips["path"]), spec=parse_kind("MFCC-16000-13"))
    estimator = AdaptiveLinearClassifier(C=1.0).fit(X, clips["label"].to_numpy(), speakers=clips["speaker"].to_numpy())
    save_artifact(root / TINY_ADAPTIVE_MODEL, estimator, model_name="adaptive_linear", feature_kind="MFCC-16000-13",
                  training={"data": str(app_corpus), "n_clips": len(clips)})
    set_default_model(TINY_ADAPTIVE_MODEL, root=root)
    return root


@pytest.fixture
def librosa_not_installed(monkeypatch):
    """Package versions as the hosted install (requirements.txt, no librosa) reports them."""
    from importlib import metadata

    real = metadata.version

    def version(name):
        if name == "librosa":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", version)
