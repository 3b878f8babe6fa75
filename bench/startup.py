"""Time to first render of the landing page (app.py), measured two ways.

1. ``apptest``: a fresh Python process imports Streamlit's AppTest and runs app.py once;
   the figure is the wall time of that first script run (imports of the page included),
   plus the whole process time.
2. ``browser``: ``streamlit run app.py`` starts headless on a free port; we time until
   ``/_stcore/health`` answers (server up), then until headless Chromium shows the
   page's title (the first script run has begun drawing), then until the whole page is
   drawn (the script run ended and every chart drawn, :func:`dashboard.page_ready`).
   Needs /usr/bin/chromium and Playwright.
3. ``floor``: the browser method on a one-line app that only draws the same title:
   Streamlit's own floor on this machine, which no change to the dashboard can beat.

Usage: ``python bench/startup.py [--method apptest|browser|floor|both|all] [--repeats 3]``
(``both``: apptest and browser; ``all``: the three, taking turns repeat by repeat).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from dashboard import page_ready

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TITLE_TEXT = "Speech emotion recognition studio"
#: The floor: a page that draws the same title and nothing else.
FLOOR_APP = f"import streamlit as st\n\nst.title({TITLE_TEXT!r})\n"

_APPTEST_CHILD = r"""
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, {repo!r})
from streamlit.testing.v1 import AppTest
imported = time.perf_counter()
at = AppTest.from_file({app!r}, default_timeout=120)
at.run()
done = time.perf_counter()
heavy = sorted(m for m in ("tensorflow", "torch", "transformers", "opensmile") if m in sys.modules)
print(json.dumps({{"first_run_s": done - imported, "process_s": done - start,
                   "exceptions": len(at.exception), "heavy_modules": heavy}}))
"""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_apptest() -> dict:
    """First AppTest run of app.py in a fresh interpreter."""
    code = _APPTEST_CHILD.format(repo=str(REPO), app=str(REPO / "app.py"))
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    return result


def _wait_http(url: str, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def time_browser(app: Path = REPO / "app.py") -> dict:
    """Server start to health, to the title in headless Chromium, and to the whole page drawn."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout_s=60)
        healthy = time.perf_counter()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            opened = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text(TITLE_TEXT).first.wait_for(timeout=60_000)
            rendered = time.perf_counter()
            complete = page_ready(page, timeout_s=60)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return {"health_s": healthy - start, "render_after_open_s": rendered - opened,
            "server_start_to_render_s": (healthy - start) + (rendered - opened),
            "server_start_to_complete_s": (healthy - start) + (complete - opened)}


def time_floor() -> dict:
    """The browser method on :data:`FLOOR_APP`: Streamlit's own start and first render here."""
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "floor.py"
        app.write_text(FLOOR_APP)
        return time_browser(app)


METHODS = {"apptest": time_apptest, "browser": time_browser, "floor": time_floor}


def main(argv=None) -> None:
    """Print the median figures of each method."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=[*METHODS, "both", "all"], default="both")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    methods = {"both": ["apptest", "browser"], "all": list(METHODS)}.get(args.method, [args.method])
    if not shutil.which(CHROMIUM) and {"browser", "floor"} & set(methods):
        print(f"skipping the browser methods: {CHROMIUM} not found")
        methods = [method for method in methods if method == "apptest"]
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    # Methods take turns, repeat by repeat, so that a busy spell on this shared machine falls on all of them.
    all_runs = {method: [] for method in methods}
    for _ in range(args.repeats):
        for method in methods:
            all_runs[method].append(METHODS[method]())
    for method, runs in all_runs.items():
        keys = [k for k, v in runs[0].items() if isinstance(v, float)]
        summary = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
        extra = {k: runs[0][k] for k in runs[0] if k not in keys}
        print(f"{method} (median of {args.repeats}): {json.dumps({**summary, **extra})}")
    if {"browser", "floor"} <= set(all_runs):
        gaps = [app["server_start_to_render_s"] - floor["server_start_to_render_s"]
                for app, floor in zip(all_runs["browser"], all_runs["floor"])]
        print(f"title above Streamlit's floor, run by run (median of {args.repeats}): {statistics.median(gaps):.3f} s")


if __name__ == "__main__":
    main()
