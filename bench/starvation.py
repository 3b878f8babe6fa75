"""Does one visitor's training starve another visitor's Predict? Round trips idle and with a training running.

Starts the dashboard (``streamlit run app.py``, public mode) with headless Chromium (Debian's
``chromium``). Visitor B uploads a 3-s clip on Predict and waits for the result, ``--trips``
times with the server idle; visitor A then starts a training on the Training page (the
study's CNN, 5-fold by actor on the corpus), and B repeats the round trips while it runs.
Target (issue 9): B's median round trip with the training running is within 3x the idle one.
Trainings run in their own process at a lower CPU priority (``ui.jobs``).

Usage:
    python bench/starvation.py                    # ../shared/data/ravdess-16k, 5 round trips each
    python bench/starvation.py --trips 8 --data /path/to/ravdess
"""

import argparse
import os
import re
import statistics
import tempfile
from pathlib import Path

from dashboard import ARGS, CHROMIUM, DATA, clip, round_trip, start_server
def start_training(browser, url: str):
    """Visitor A queues the study's CNN (5-fold by actor, 30 epochs) on the Training page."""
    page = browser.new_page()
    page.goto(f"{url}/Training")
    page.get_by_role("button", name="Start training").wait_for(timeout=120_000)
    # The page preselects the best shipped model that trains in minutes: choose the study's CNN.
    page.locator('[data-testid="stSelectbox"]', has=page.get_by_text("Model", exact=True)).first.click()
    page.get_by_role("option", name=re.compile(r"^cnn: ")).first.click()
    page.get_by_text("Loss (the study's networks)").first.wait_for(timeout=60_000)  # the form redrawn for it
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("fold 1 of 5").first.wait_for(timeout=600_000)  # features done, epochs under way
    return page


def idle_then_training(browser, url: str, folder: Path, *, trips: int):
    """The scenario: a warm-up, ``trips`` round trips idle, a training started, ``trips`` more while it runs.

    Returns the idle and busy round-trip times (s) and the trainer's page (still training).
    """
    round_trip(browser, url, clip(folder, 0))  # warm: model loaded, caches filled
    idle = [round_trip(browser, url, clip(folder, n)) for n in range(1, trips + 1)]
    trainer = start_training(browser, url)
    busy = [round_trip(browser, url, clip(folder, 100 + n)) for n in range(trips)]
    return idle, trainer, busy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--trips", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        folder = Path(scratch)
        process, url = start_server(args.data, folder)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            idle, trainer, busy = idle_then_training(browser, url, folder, trips=args.trips)
            trainer.get_by_role("button", name="Cancel").first.click()
        finally:
            browser.close()
            process.terminate()
            process.wait(timeout=30)
    ratio = statistics.median(busy) / statistics.median(idle)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print(f"Predict round trip, idle:              median {statistics.median(idle):.2f} s "
          f"(min {min(idle):.2f}, max {max(idle):.2f}, n={len(idle)})")
    print(f"Predict round trip, training running:  median {statistics.median(busy):.2f} s "
          f"(min {min(busy):.2f}, max {max(busy):.2f}, n={len(busy)})")
    print(f"ratio {ratio:.2f}x (target: at most 3x) -> {'met' if ratio <= 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
