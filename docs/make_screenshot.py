"""Regenerate the README's screenshots: Home, Predict on the shipped default, and the Model comparison headline.

Starts the dashboard (``bench/dashboard.start_server``, local mode, the corpus in
``../shared/data/ravdess-16k``) and drives headless Chromium (``/usr/bin/chromium``):

* ``docs/screenshot-home.png`` and ``docs/screenshot-home-phone.png``: the first screen of
  Home at 1440x900 and 390x844 (the default model in plain words, first);
* ``docs/screenshot-predict.png``: three RAVDESS clips of one actor joined into one
  recording (angry, sad, happy), uploaded on Predict, the whole page;
* ``docs/screenshot-comparison.png``: the top of Model comparison (best model on new
  speakers, the glance table).

Usage:
    python docs/make_screenshot.py
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from dashboard import CHROMIUM, DATA, start_server  # noqa: E402

ACTOR = DATA / "Actor_01"
CLIPS = ("03-01-05-02-01-01-01.wav", "03-01-04-02-02-01-01.wav", "03-01-03-02-01-02-01.wav")  # angry, sad, happy
WIDTH = 1100


def joined_recording(folder: Path) -> Path:
    """Write the three clips, one second of silence apart, as one WAV file."""
    parts = []
    for name in CLIPS:
        y, sample_rate = sf.read(ACTOR / name, dtype="float32")
        parts += [y, np.zeros(sample_rate, dtype=np.float32)]
    path = folder / "three_emotions.wav"
    sf.write(path, np.concatenate(parts[:-1]), sample_rate)
    return path


def whole_page(page, out: Path) -> None:
    """Save the page's main column at its full height."""
    page.wait_for_timeout(3000)
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": WIDTH, "height": int(height)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(out), full_page=True)
    print(f"saved {out}")


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        server, url = start_server(DATA, Path(tmp), mode="local")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        try:
            for name, viewport in (("screenshot-home.png", {"width": 1440, "height": 900}),
                                   ("screenshot-home-phone.png", {"width": 390, "height": 844})):
                page = browser.new_page(viewport=viewport)
                page.goto(url)
                page.locator(".st-key-summary").first.wait_for(timeout=90_000)
                page.wait_for_timeout(4000)
                page.screenshot(path=str(REPO / "docs" / name))
                print(f"saved {REPO / 'docs' / name}")
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
            page.goto(f"{url}/Predict")
            page.locator("h1", has_text="Predict").first.wait_for(timeout=90_000)
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                str(joined_recording(Path(tmp))))
            page.get_by_text("Emotion over time").wait_for(timeout=120_000)
            whole_page(page, REPO / "docs" / "screenshot-predict.png")
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.goto(f"{url}/Model_comparison")
            page.get_by_text("Best on new speakers").first.wait_for(timeout=90_000)
            page.wait_for_timeout(3000)
            page.screenshot(path=str(REPO / "docs" / "screenshot-comparison.png"))
            print(f"saved {REPO / 'docs' / 'screenshot-comparison.png'}")
        finally:
            browser.close()
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
