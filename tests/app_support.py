"""Helpers shared by the dashboard tests (AppTest pages, ui modules, the real browser)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "home": REPO / "app.py",
    "dataset": REPO / "app_pages" / "Dataset_explorer.py",
    "features": REPO / "app_pages" / "Feature_inspector.py",
    "comparison": REPO / "app_pages" / "Model_comparison.py",
    "training": REPO / "app_pages" / "Training.py",
    "predict": REPO / "app_pages" / "Predict.py",
}
TINY_MODEL = "tiny-logreg"


def open_page(name: str, *, timeout_s: float = 120):
    """An AppTest of one page run the way the server runs it: app.py as the entry point."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGES["home"]), default_timeout=timeout_s)
    if name != "home":
        at.switch_page(str(PAGES[name].relative_to(REPO)))
    return at.run()


def wav_bytes(y: np.ndarray, *, sample_rate: int = 16000) -> bytes:
    """A clip as the bytes of a 16-bit WAV file."""
    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(y, dtype=np.float32), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def build_tiny_corpus(root: Path, source: Path, *, actors=("01", "02", "03"), per_emotion: int = 2) -> Path:
    """Link ``per_emotion`` clips of each emotion for a few actors from the real corpus into ``root``."""
    for actor in actors:
        folder = root / f"Actor_{actor}"
        folder.mkdir(parents=True, exist_ok=True)
        for emotion in range(1, 9):
            for path in sorted((source / f"Actor_{actor}").glob(f"03-01-{emotion:02d}-*.wav"))[:per_emotion]:
                link = folder / path.name
                if not link.exists():
                    link.symlink_to(path)
    return root


def train_tiny_model(artifacts_root: Path, data: Path, *, name: str = TINY_MODEL) -> Path:
    """Train a small logistic regression on ``data`` through ser_core and make it the default."""
    from ser_core.modelfolder.read import set_default_model
    from ser_core.training.config import ProtocolSettings, TrainConfig
    from ser_core.training.train import save_result, train

    result = train(TrainConfig(model="logistic_regression", protocol=ProtocolSettings("kfold", n_folds=3)), data=data)
    folder = save_result(result, artifacts_root / name)
    set_default_model(name, root=artifacts_root)
    return folder


def problems(at) -> list[str]:
    """Every exception and error message an AppTest run shows."""
    return [e.value for e in at.exception] + [e.value for e in at.error]
