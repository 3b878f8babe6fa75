"""Shared fixtures: synthetic audio for unit tests, the real corpus for end-to-end ones."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RAVDESS_16K = SHARED_DATA / "ravdess-16k"
RAVDESS_48K = SHARED_DATA / "ravdess-48k-sample"
SAMPLE_RATE = 16000


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
    """Keep every test's feature cache out of the user's home folder."""
    monkeypatch.setenv("SER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ser-cache"))


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
