"""The default model's serving budget: latency beside a baseline in the same run, size, pickles, TensorFlow, memory.

Latency is per 3-s clip of real speech (a RAVDESS clip with its silence trimmed, tiled to
3 s; a synthetic voiced clip without the corpus), decoding, preprocessing and features
included, as wall-clock and CPU milliseconds of this process (``time.process_time``: on a
busy shared machine the wall clock includes waiting for a core, the CPU time does not).
The default and the baseline are timed alternately in the same run, so a change of load
hits both alike. The baseline is round one's default recipe, ``compare-adaptive-lr``
(ComParE + speaker-adapted logistic regression), unless ``--baseline`` names another.

Budget (issue 13): latency at most 1.5x the baseline's, the model folder at most 20 MB with
no pickled file, TensorFlow never imported; with ``--dashboard``, the dashboard's server
process after one prediction with the default model, made in Chromium on the Predict page,
under 700 MB resident memory.

Usage:
    python bench/default_model.py                       # artifacts/DEFAULT against compare-adaptive-lr
    python bench/default_model.py --repeats 30 --dashboard
    python bench/default_model.py artifacts/NAME --baseline artifacts/OTHER
"""

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.modelfolder.read import artifacts_root, default_model_dir, load_model  # noqa: E402

CLIP_S = 3.0
SAMPLE_RATE = 16000
SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k" / "Actor_01" / "03-01-05-02-01-01-01.wav"
BASELINE = "compare-adaptive-lr"
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
LATENCY_BUDGET = 1.5
SIZE_BUDGET_MB = 20.0
DASHBOARD_RSS_BUDGET_MB = 700.0


def three_second_clip():
    """3 s of real speech when the corpus is beside the project, else a synthetic voiced clip."""
    if SHARED_CLIP.is_file():
        import soundfile as sf

        from ser_core.audio.preprocess import preprocess

        y, sr = sf.read(SHARED_CLIP, dtype="float32")
        speech = preprocess(y, sample_rate=sr)
        return np.resize(speech, int(CLIP_S * sr)).astype(np.float32), sr
    t = np.arange(int(CLIP_S * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(140 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))) / SAMPLE_RATE
    y = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    return (0.3 * y).astype(np.float32), SAMPLE_RATE


def folder_facts(folder: Path) -> dict:
    """Size on disk (every file, members included) and any pickled file."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {"size_mb": round(sum(path.stat().st_size for path in files) / 1e6, 3),
            "pickles": sorted(str(path.relative_to(folder)) for path in files if path.suffix in PICKLE_SUFFIXES)}


def time_models(models: dict, *, repeats: int, warmup: int = 3) -> dict:
    """Median and p90 wall-clock and median CPU milliseconds per clip of each model, timed alternately."""
    y, sr = three_second_clip()
    for model in models.values():
        for _ in range(warmup):
            model.predict_audio(y, sample_rate=sr)
    wall = {name: [] for name in models}
    cpu = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            t0, c0 = time.perf_counter(), time.process_time()
            model.predict_audio(y, sample_rate=sr)
            cpu[name].append(1000 * (time.process_time() - c0))
            wall[name].append(1000 * (time.perf_counter() - t0))
    return {name: {"latency_ms_median": round(statistics.median(wall[name]), 1),
                   "latency_ms_p90": round(float(np.percentile(wall[name], 90)), 1),
                   "cpu_ms_median": round(statistics.median(cpu[name]), 1)} for name in models}


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def dashboard_memory() -> dict:
    """The dashboard server's resident memory after one Predict round trip in Chromium, and whether TensorFlow is mapped."""
    from playwright.sync_api import sync_playwright

    from dashboard import ARGS, CHROMIUM, clip, round_trip, start_server

    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        folder = Path(scratch)
        process, url = start_server(None, folder)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            seconds = round_trip(browser, url, clip(folder, 0))
            maps = Path(f"/proc/{process.pid}/maps").read_text()
            return {"round_trip_s": round(seconds, 2), "rss_mb": _status_mb(process.pid, "VmRSS"),
                    "peak_rss_mb": _status_mb(process.pid, "VmHWM"), "tensorflow_loaded": "tensorflow" in maps}
        finally:
            browser.close()
            process.terminate()
            process.wait(timeout=30)


def main():
    """Print the figures as JSON, then one line per budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=None, help="model folder (default: artifacts/DEFAULT)")
    parser.add_argument("--baseline", type=Path, default=None, help=f"model folder (default: artifacts/{BASELINE})")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dashboard", action="store_true", help="also measure the dashboard server's memory")
    args = parser.parse_args()
    folder = args.folder or default_model_dir()
    baseline = args.baseline or artifacts_root() / BASELINE
    models = {"default": load_model(folder), "baseline": load_model(baseline)}
    report = {"default": {"model": folder.name, **folder_facts(folder)},
              "baseline": {"model": baseline.name, **folder_facts(baseline)}}
    for name, figures in time_models(models, repeats=args.repeats).items():
        report[name].update(figures)
    report.update(ratio=round(report["default"]["latency_ms_median"] / report["baseline"]["latency_ms_median"], 2),
                  tensorflow_imported="tensorflow" in sys.modules,
                  peak_rss_mb_this_process=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  repeats=args.repeats, load_average_1min=round(os.getloadavg()[0], 2), n_cpus=os.cpu_count())
    if args.dashboard:
        report["dashboard"] = dashboard_memory()
    print(json.dumps(report, indent=2))
    default = report["default"]
    checks = [(f"latency {report['ratio']}x the baseline's (budget {LATENCY_BUDGET}x)", report["ratio"] <= LATENCY_BUDGET),
              (f"size {default['size_mb']} MB (budget {SIZE_BUDGET_MB:g} MB)", default["size_mb"] <= SIZE_BUDGET_MB),
              (f"pickled files: {', '.join(default['pickles']) or 'none'}", not default["pickles"]),
              (f"TensorFlow imported: {report['tensorflow_imported']}", not report["tensorflow_imported"])]
    if args.dashboard:
        memory = report["dashboard"]
        checks += [(f"dashboard after one prediction: {memory['rss_mb']} MB resident, peak {memory['peak_rss_mb']} MB "
                    f"(budget {DASHBOARD_RSS_BUDGET_MB:g} MB)", memory["peak_rss_mb"] <= DASHBOARD_RSS_BUDGET_MB),
                   (f"TensorFlow in the dashboard process: {memory['tensorflow_loaded']}", not memory["tensorflow_loaded"])]
    for text, met in checks:
        print(f"{'met   ' if met else 'MISSED'} {text}")


if __name__ == "__main__":
    main()
