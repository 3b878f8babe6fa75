"""Regenerate docs/screenshot-predict.png: the Predict page on the shipped default model.

Starts ``streamlit run app.py`` on a free port, uploads three RAVDESS clips of one actor
joined into one recording (angry, sad, happy), and saves the whole page. Needs the corpus
in ../shared/data/ravdess-16k and Chromium at /usr/bin/chromium (playwright drives it).

Usage:
    python docs/make_screenshot.py
"""

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
ACTOR = REPO.parent / "shared" / "data" / "ravdess-16k" / "Actor_01"
CLIPS = ("03-01-05-02-01-01-01.wav", "03-01-04-02-02-01-01.wav", "03-01-03-02-01-02-01.wav")  # angry, sad, happy
OUT = REPO / "docs" / "screenshot-predict.png"


def joined_recording(folder: Path) -> Path:
    """Write the three clips, one second of silence apart, as one WAV file."""
    parts = []
    for name in CLIPS:
        y, sample_rate = sf.read(ACTOR / name, dtype="float32")
        parts += [y, np.zeros(sample_rate, dtype=np.float32)]
    path = folder / "three_emotions.wav"
    sf.write(path, np.concatenate(parts[:-1]), sample_rate)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.goto(f"{url}/Predict")
            page.locator("h1", has_text="Predict").first.wait_for(timeout=90_000)
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(joined_recording(Path(tmp))))
            page.get_by_text("Emotion over time").wait_for(timeout=120_000)
            page.wait_for_timeout(3000)
            height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
            page.set_viewport_size({"width": 1100, "height": int(height)})
            page.wait_for_timeout(1000)
            page.screenshot(path=str(OUT), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"saved {OUT}")


if __name__ == "__main__":
    main()
