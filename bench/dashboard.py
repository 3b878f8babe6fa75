"""The dashboard as a visitor sees it, for benchmarks: a server on a free port, Chromium, a Predict round trip.

Run as a script it times the first visits of the Dataset explorer and the Feature inspector on
the shipped corpus sample (a fresh server and feature cache; each page opened from the menu
after Home): ``python bench/dashboard.py [--data DIR] [--mode local|public]``.
"""

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


def start_server(data: Path | None, folder: Path, *, mode: str = "public", options=()):
    """The dashboard on a free port (runs and scratch under ``folder``); returns (process, url).

    ``options``: more ``streamlit run`` options, e.g. ``("--server.fileWatcherType", "none")``.
    """
    port = _port()
    env = {**os.environ, "SER_MODE": mode, "SER_RUNS_DIR": str(folder / "runs"), "SER_SCRATCH_DIR": str(folder / "scratch")}
    env.pop("SER_DATA_DIR", None)
    if data is not None:
        env["SER_DATA_DIR"] = str(data)
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                "--server.port", str(port), *options], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
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


# ---------------------------------------------------------------- first visits: python bench/dashboard.py

#: The shipped corpus sample the first-visit figures are measured on.
SAMPLE = ROOT.parent / "shared" / "data" / "ravdess-48k-sample"
#: The pages whose first visit must stay within FIRST_VISIT_BUDGET_S, by their menu title.
FIRST_VISIT_PAGES = ("Dataset explorer", "Feature inspector")
FIRST_VISIT_BUDGET_S = 3.0
_SCRIPT_STATE = ("() => { const app = document.querySelector('[data-test-script-state]'); "
                 "return app ? app.getAttribute('data-test-script-state') : null; }")
_CHARTS_DRAWN = ("() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
                 ".every(chart => chart.querySelector('.main-svg'))")


def page_ready(page, *, timeout_s: float = 300.0, settle_s: float = 0.5) -> float:
    """Wait until Streamlit's script run has ended and every Plotly chart is drawn; return when that first held.

    The state must hold for ``settle_s`` (a page switch can show "not running" for a moment
    before the new page's run starts); the time returned is when it began to hold.
    """
    deadline = time.monotonic() + timeout_s
    ready_since = None
    while time.monotonic() < deadline:
        ready = page.evaluate(_SCRIPT_STATE) == "notRunning" and page.evaluate(_CHARTS_DRAWN)
        charts = page.locator("[data-testid=stPlotlyChart]").count()
        if not ready:
            ready_since = None
        elif ready_since is None or charts != ready_since[1]:
            ready_since = (time.perf_counter(), charts)
        elif time.perf_counter() - ready_since[0] >= settle_s:
            return ready_since[0]
        page.wait_for_timeout(50)
    raise TimeoutError(f"the page was still running after {timeout_s:.0f} s")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process and its children have used so far."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for each in (process, *process.children(recursive=True)):
        try:
            times = each.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def visit_from_menu(page, title: str, *, server_pid: int | None = None) -> dict:
    """A click on ``title`` in the sidebar menu until that page is drawn: wall seconds, and the server's CPU seconds.

    The CPU seconds do not grow when other work shares the machine, so they compare runs on a
    busy machine; the wall time is what a visitor waits.
    """
    cpu = cpu_seconds(server_pid) if server_pid else None
    start = time.perf_counter()
    page.get_by_role("link", name=title).first.click()
    page.locator("h1", has_text=title).first.wait_for(timeout=300_000)
    visit = {"wall_s": round(page_ready(page) - start, 2)}
    if server_pid:
        visit["server_cpu_s"] = round(cpu_seconds(server_pid) - cpu, 2)
    return visit


def first_visits(*, data: Path = SAMPLE, mode: str = "local", repeats: int = 2) -> dict:
    """A fresh server (empty feature cache): Home, then each page of FIRST_VISIT_PAGES from the menu, ``repeats`` times."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        os.environ["SER_CACHE_DIR"] = str(folder / "cache")  # no feature computed before this run
        process, url = start_server(data, folder, mode=mode)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                start = time.perf_counter()
                page.goto(url)
                page.locator("h1").first.wait_for(timeout=300_000)
                result = {"home_s": round(page_ready(page) - start, 2)}
                for visit in range(repeats):
                    for title in FIRST_VISIT_PAGES:
                        key = title.lower().replace(" ", "_") + ("_first" if visit == 0 else f"_visit{visit + 1}")
                        result[key] = visit_from_menu(page, title, server_pid=process.pid)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return result


def main(argv=None) -> int:
    """Print the first-visit times as JSON; exit 1 when a first visit is over FIRST_VISIT_BUDGET_S."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SAMPLE, help="corpus the app opens with (default: the sample)")
    parser.add_argument("--mode", default="local", choices=("local", "public"))
    parser.add_argument("--repeats", type=int, default=2, help="visits of each page (the first is the cold one)")
    args = parser.parse_args(argv)
    result = {"load_average_1min": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()}
    result.update(first_visits(data=args.data, mode=args.mode, repeats=args.repeats))
    result["budget_s"] = FIRST_VISIT_BUDGET_S
    print(json.dumps(result, indent=2))
    slow = [title for title in FIRST_VISIT_PAGES
            if result[title.lower().replace(" ", "_") + "_first"]["wall_s"] > FIRST_VISIT_BUDGET_S]
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
