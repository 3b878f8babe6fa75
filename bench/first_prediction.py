"""The first prediction of a session against a later one, on a fresh dashboard server, in headless Chromium.

A visitor's path on a fresh server (local mode, the default model ``artifacts/DEFAULT``),
two ways (``--via``):

* ``example`` (default): tab 1 opens Home, waits until it is drawn, stays ``--pause-s``
  seconds (a visitor reading it), and clicks "Classify an example clip"; the time runs
  from the click until the verdict and its player are drawn on Predict (Predict's first
  visit, the model's loading when it is not loaded yet, decoding, the prediction and the
  charts included). Then Home again from the menu and a second click (the next shipped
  example, so no cache answers): a later prediction, same session.
* ``upload``: tab 1 opens Home, stays ``--pause-s`` seconds, then Predict from the menu
  (``predict_opened_s``: until it is drawn, the model loaded), and uploads a 3-s clip (the
  first prediction), then another (a later one). Each clip is a different 3-s voiced clip
  (:func:`dashboard.clip`); the time runs from choosing the file until its verdict and
  player are drawn.

Either way tab 2, a second session, then opens Predict and uploads a third clip. Beside
each wall time, ``*_cpu_s`` is the CPU the server spent meanwhile: on a busy machine it
separates the server's work from the browser's (drawing a page's elements the first
time) and from waiting for a core. ``--cold-cache`` starts the server with an empty
``$SER_CACHE_DIR``, as on a fresh install (the Whisper weights joined and its ONNX graph
built on first use).

Target (issue 20): the first prediction at most 1.5x a later one (models loaded once per
server and shared by every session, warmed in the background after the first page:
``ui.cache.warm_up``).

Usage: ``python bench/first_prediction.py [--via example|upload] [--repeats 3] [--pause-s 5] [--cold-cache]``
(``--pause-s 0``: the worst case, a click the moment Home is drawn, before the warm-up ends).
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from dashboard import ARGS, CHROMIUM, clip, cpu_seconds, page_ready, start_server, visit_from_menu

TARGET_RATIO = 1.5
_UPLOADER = '[data-testid="stFileUploaderDropzoneInput"]'


def _timed(action, *, pid: int) -> tuple[float, float]:
    """Wall seconds of ``action()``, and the server's CPU seconds meanwhile."""
    cpu, start = cpu_seconds(pid), time.perf_counter()
    action()
    return time.perf_counter() - start, cpu_seconds(pid) - cpu


def _verdict_drawn(page, name: str | None = None) -> None:
    """Wait until a verdict (and the player of ``name``, or of any clip) is on the page."""
    page.get_by_text(f"Listen: {name}" if name else "Listen: ").first.wait_for(timeout=300_000)
    page.locator(".ser-chip").first.wait_for(timeout=300_000)


def upload(page, path: Path, *, pid: int) -> tuple[float, float]:
    """Choose ``path`` in Predict's uploader until its verdict and player are drawn: wall and server CPU seconds."""
    page.locator(_UPLOADER).first.wait_for(state="attached", timeout=300_000)

    def action():
        page.locator(_UPLOADER).first.set_input_files(str(path))
        _verdict_drawn(page, path.name)

    return _timed(action, pid=pid)


def example(page, *, pid: int) -> tuple[float, float]:
    """Click Home's "Classify an example clip" until the verdict and its player are drawn: wall and server CPU seconds."""
    def action():
        page.get_by_role("button", name="Classify an example clip").click()
        page.wait_for_url("**/Predict", timeout=300_000)
        _verdict_drawn(page)

    return _timed(action, pid=pid)


def _first_and_later(page, folder: Path, *, via: str, pid: int) -> dict:
    """Tab 1's first and later prediction, once Home is drawn and read."""
    result = {}
    if via == "example":
        first = example(page, pid=pid)
        page.get_by_role("link", name="Home").first.click()
        page.get_by_role("button", name="Classify an example clip").wait_for(timeout=300_000)
        page_ready(page)
        later = example(page, pid=pid)
    else:
        result["predict_opened_s"] = visit_from_menu(page, "Predict")["wall_s"]
        first = upload(page, clip(folder, 0), pid=pid)
        later = upload(page, clip(folder, 1), pid=pid)
    return {**result, "first_s": first[0], "later_s": later[0], "ratio": first[0] / later[0],
            "first_cpu_s": first[1], "later_cpu_s": later[1]}


def one_server(browser, *, via: str, pause_s: float, cold_cache: bool = False) -> dict:
    """A fresh server: tab 1's first and later prediction from Home, then a second session's first upload."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if cold_cache:
            os.environ["SER_CACHE_DIR"] = str(folder / "cache")  # the server inherits it
        started = time.perf_counter()
        process, url = start_server(None, folder, mode="local")
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.locator("h1").first.wait_for(timeout=300_000)
            result = {"home_drawn_s": page_ready(page) - started}
            page.wait_for_timeout(1000 * pause_s)
            result.update(_first_and_later(page, folder, via=via, pid=process.pid))
            other = browser.new_page(viewport={"width": 1440, "height": 900})
            other.goto(f"{url}/Predict")
            result["second_session_upload_s"] = upload(other, clip(folder, 2), pid=process.pid)[0]
        finally:
            process.terminate()
            process.wait(timeout=30)
    return result


def main(argv=None) -> int:
    """Print the medians as JSON; exit 1 when the first prediction is over TARGET_RATIO times a later one."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--via", choices=("example", "upload"), default="example")
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers (default 3)")
    parser.add_argument("--pause-s", type=float, default=5.0, help="seconds on Home before the first prediction")
    parser.add_argument("--cold-cache", action="store_true", help="an empty $SER_CACHE_DIR, as on a fresh install")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        runs = [one_server(browser, via=args.via, pause_s=args.pause_s, cold_cache=args.cold_cache)
                for _ in range(args.repeats)]
        browser.close()
    result = {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}
    result.update(via=args.via, repeats=args.repeats, pause_s=args.pause_s, cold_cache=args.cold_cache,
                  cpus=os.cpu_count(), load_average_1min=[round(load, 2), round(os.getloadavg()[0], 2)],
                  target_ratio=TARGET_RATIO, each=[{key: round(value, 2) for key, value in run.items()} for run in runs])
    print(json.dumps(result, indent=2))
    return 0 if result["ratio"] <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
