"""The dashboard as a visitor sees it, for benchmarks: a server on a free port, Chromium, a Predict round trip."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ravdess-16k"
CHROMIUM = os.environ.get("SER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path | None, folder: Path, *, mode: str = "public"):
    """The dashboard on a free port (runs and scratch under ``folder``); returns (process, url)."""
    port = _port()
    env = {**os.environ, "SER_MODE": mode, "SER_RUNS_DIR": str(folder / "runs"), "SER_SCRATCH_DIR": str(folder / "scratch")}
    env.pop("SER_DATA_DIR", None)
    if data is not None:
        env["SER_DATA_DIR"] = str(data)
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                "--server.port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the dashboard did not start")


def clip(folder: Path, n: int) -> Path:
    """A 3-s voiced clip, different every time (so no cache answers for it)."""
    rng = np.random.default_rng(n)
    t = np.arange(48000) / 16000
    phase = 2 * np.pi * np.cumsum(130 + 20 * rng.random() + 15 * np.sin(2 * np.pi * 3 * t)) / 16000
    y = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    path = folder / f"clip-{n}.wav"
    sf.write(path, (0.3 * y + 0.003 * rng.standard_normal(len(t))).astype(np.float32), 16000)
    return path


def round_trip(browser, url: str, path: Path) -> float:
    """Seconds from choosing a file on Predict to the emotion on screen."""
    page = browser.new_page()
    page.goto(f"{url}/Predict")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.wait_for(state="attached", timeout=120_000)
    start = time.perf_counter()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    page.locator(".ser-chip").first.wait_for(timeout=300_000)
    elapsed = time.perf_counter() - start
    page.close()
    return elapsed
