"""The dashboard server's peak memory under the starvation scenario plus three visitors' 10-minute uploads at once.

Starts the dashboard (``streamlit run app.py``, public mode) with headless Chromium (Debian's
``chromium``). As ``bench/starvation.py``: visitor B's Predict round trips with the server
idle, then with visitor A's training (the study's CNN, 5-fold by actor) running. Then, with
the training still running, three more visitors each upload a different 10-minute recording
on Predict at the same moment while B goes on with short clips. Prints the server process's
peak resident memory (``VmHWM``; target: at most 1.5 GB; the training runs in its own
process, whose peak is printed apart) and whether every visitor got an answer (the emotion
of their recording), with how long each waited.

Usage:
    nice -n 10 python bench/memory.py                   # 48 kHz mono 16-bit WAV uploads, 3 round trips each
    nice -n 10 python bench/memory.py --minutes 10 --sample-rate 16000 --trips 5
"""

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from dashboard import ARGS, CHROMIUM, DATA, clip, round_trip, start_server
from starvation import idle_then_training

#: Peak resident memory of the server process the dashboard must stay within (issue 20).
TARGET_MB = 1536
ANSWER = ".ser-chip"
#: The start of the Predict page's error message (``widgets.shown_errors``).
ERROR = "Could not classify"


def long_recording(folder: Path, n: int, *, minutes: float, sample_rate: int) -> Path:
    """A voiced recording with pauses, different for every ``n``, written in 10-s blocks (16-bit WAV)."""
    rng = np.random.default_rng(1000 + n)
    path = folder / f"long-{n}.wav"
    block = 10 * sample_rate
    phase = 0.0
    with sf.SoundFile(path, "w", samplerate=sample_rate, channels=1, subtype="PCM_16") as out:
        for start in range(0, int(minutes * 60 * sample_rate), block):
            t = (start + np.arange(block)) / sample_rate
            f0 = 120 + 40 * rng.random() + 20 * np.sin(2 * np.pi * 0.7 * t)
            phases = phase + 2 * np.pi * np.cumsum(f0) / sample_rate
            phase = float(phases[-1])
            voiced = sum(np.sin(k * phases) / k for k in range(1, 6))
            syllables = np.clip(np.sin(2 * np.pi * (3 + rng.random()) * t), 0, None)
            pauses = (np.sin(2 * np.pi * 0.1 * t + n) > -0.6).astype(float)  # a silent stretch every 10 s
            y = 0.3 * voiced * syllables * pauses + 0.003 * rng.standard_normal(block)
            out.write(y.astype(np.float32))
    return path


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (started from any of its threads: the trainings start from one)."""
    kids = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids += [int(child) for child in children.read_text().split()]
        except OSError:
            continue
    return kids + [grandchild for child in kids for grandchild in _children(child)]


class Sampler(threading.Thread):
    """Resident memory of the server and of its child processes (the training), five times a second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.server_mb, self.children_mb = [], []

    def run(self):
        while not self.stop.is_set():
            try:
                self.server_mb.append(_status_mb(self.pid, "VmRSS"))
                self.children_mb.append(sum(_status_mb(child, "VmRSS") for child in _children(self.pid)))
            except OSError:
                pass
            time.sleep(0.2)


def open_predict(browser, url: str):
    """A visitor's Predict page, ready for a file."""
    page = browser.new_page()
    page.goto(f"{url}/Predict")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.wait_for(state="attached", timeout=120_000)
    return page


def upload(page, path: Path):
    """The visitor chooses ``path``; returns (page, the moment the file was chosen)."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    return page, time.perf_counter()


def outcome(page, started: float, *, timeout_s: float) -> tuple[str, float]:
    """("answer", seconds) once the emotion is on screen, ("error: ...", seconds) on an error, else "no answer"."""
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if page.locator(ANSWER).count():
            return "answer", time.perf_counter() - started
        if page.get_by_text(ERROR).count():
            return f"error: {page.get_by_text(ERROR).first.inner_text()[:200]}", time.perf_counter() - started
        page.wait_for_timeout(500)
    return "no answer", time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--trips", type=int, default=3, help="visitor B's round trips idle and with the training")
    parser.add_argument("--visitors", type=int, default=3, help="visitors uploading a long recording at once")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each long recording")
    parser.add_argument("--sample-rate", type=int, default=48000, help="of the uploaded WAV files (Hz)")
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="how long a visitor waits for an answer")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        folder = Path(scratch)
        recordings = [long_recording(folder, n, minutes=args.minutes, sample_rate=args.sample_rate)
                      for n in range(args.visitors)]
        # no file watcher: a file saved in the checkout meanwhile must not reload modules mid-run
        process, url = start_server(args.data, folder, options=("--server.fileWatcherType", "none"))
        sampler = Sampler(process.pid)
        sampler.start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            idle, trainer, busy = idle_then_training(browser, url, folder, trips=args.trips)
            start = time.perf_counter()
            ready = [open_predict(browser, url) for _ in recordings]
            pages = [upload(page, path) for page, path in zip(ready, recordings)]
            during = [round_trip(browser, url, clip(folder, 200 + n)) for n in range(args.trips)]
            results = [outcome(page, started, timeout_s=args.timeout_s) for page, started in pages]
            all_done_s = time.perf_counter() - start
            training_still_running = trainer.get_by_role("button", name="Cancel").count() > 0
            if training_still_running:
                trainer.get_by_role("button", name="Cancel").first.click()
            peak_mb = _status_mb(process.pid, "VmHWM")
        finally:
            sampler.stop.set()
            browser.close()
            process.terminate()
            process.wait(timeout=30)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print(f"uploads: {args.visitors} x {args.minutes:g} min, {args.sample_rate} Hz mono 16-bit WAV "
          f"({args.minutes * 60 * args.sample_rate * 2 / 2**20:.1f} MB each), chosen within "
          f"{max(s for _, s in pages) - min(s for _, s in pages):.1f} s of each other")
    print(f"Predict round trip, idle:                     median {statistics.median(idle):.2f} s")
    print(f"Predict round trip, training running:         median {statistics.median(busy):.2f} s")
    print(f"Predict round trip, training + long uploads:  median {statistics.median(during):.2f} s "
          f"(max {max(during):.2f})")
    for number, (what, seconds) in enumerate(results, start=1):
        print(f"long-recording visitor {number}: {what} after {seconds:.1f} s")
    print(f"all long recordings answered within {all_done_s:.1f} s; training still running then: "
          f"{training_still_running}")
    print(f"server process peak resident memory (VmHWM): {peak_mb:.0f} MB; sampled max "
          f"{max(sampler.server_mb):.0f} MB; training process sampled max {max(sampler.children_mb or [0]):.0f} MB")
    met = peak_mb <= TARGET_MB and all(what == "answer" for what, _ in results)
    print(f"target: peak at most {TARGET_MB} MB and every visitor answered -> {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
