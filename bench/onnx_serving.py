"""Serving from ONNX graphs against the native networks: agreement, latency per 3-s clip, memory.

For every shipped model folder with a network (and the default ensemble, whose log-mel
CNN member is one), in one child process per framework (torch and TensorFlow never share
a process):

* agreement: the largest absolute difference between the calibrated probabilities served
  from ``model.onnx`` and from the native network, over real clips (every 25th clip of
  RAVDESS actors 01-20 at 16 kHz, 48 clips), decoding and features shared;
* latency: median wall-clock and CPU milliseconds per 3-s clip (``bench/default_model.py``'s
  clip; decoding and features included), native and ONNX timed alternately in the same
  process (CPU time: the machine may be shared).

Then, in a fresh process, every shipped model is loaded with ``load_model`` (ONNX where a
folder has a graph), each predicts one clip, and its resident memory (VmRSS, VmHWM) and
whether torch or TensorFlow were imported are reported.

Usage:
    python bench/onnx_serving.py                 # everything, JSON then one line per model
    python bench/onnx_serving.py --repeats 30
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CORPUS = ROOT.parent / "shared" / "data" / "ravdess-16k"
HEAVY = ("torch", "tensorflow", "keras")


def native_model(folder: Path):
    """The folder's model with its native estimator loaded in this process (no ONNX, no child process)."""
    from ser_core.modelfolder.loaded import EnsembleModel, LoadedModel
    from ser_core.modelfolder.read import MEMBERS_FOLDER, read_config, read_metrics
    from ser_core.models.registry import load_estimator

    config, metrics = read_config(folder), read_metrics(folder)
    if config["model"] == "ensemble":
        members = [(native_model(folder / MEMBERS_FOLDER / entry["name"]), float(entry["weight"]))
                   for entry in config["members"]]
        return EnsembleModel(folder, config, metrics, members)
    return LoadedModel(folder, config, metrics, load_estimator(config["model"], folder))


def agreement(native, onnx, clips) -> float:
    """Largest absolute difference of calibrated probabilities over ``clips`` (features computed once)."""
    from ser_core.audio.preprocess import load_audio

    worst = 0.0
    for clip in clips:
        y = load_audio(clip, sample_rate=onnx.sample_rate)
        X = onnx.stack_features([onnx.features(y, sample_rate=onnx.sample_rate)])
        worst = max(worst, float(np.abs(native.predict_proba(X) - onnx.predict_proba(X)).max()))
    return worst


def compare(names, repeats) -> dict:
    """Agreement and latency, native against ONNX, of model folders whose networks share one framework."""
    from default_model import time_models

    from ser_core.modelfolder.read import PROJECT_ARTIFACTS, load_model

    clips = sorted(CORPUS.glob("Actor_*/*.wav"))[::25]
    report = {}
    for name in names:
        folder = PROJECT_ARTIFACTS / name
        native, onnx = native_model(folder), load_model(folder)
        timings = time_models({"native": native, "onnx": onnx}, repeats=repeats)
        report[name] = {"max_abs_difference": agreement(native, onnx, clips), "n_clips": len(clips), **timings}
    return report


def serve_all() -> dict:
    """Resident memory of one process that loaded every shipped model and classified a clip with each."""
    from ser_core.modelfolder.read import PROJECT_ARTIFACTS, load_model

    clip = sorted(CORPUS.glob("Actor_01/*.wav"))[0]
    names = sorted(path.parent.name for path in PROJECT_ARTIFACTS.glob("*/config.json"))
    models = [load_model(PROJECT_ARTIFACTS / name) for name in names]
    for model in models:
        model.predict_audio(clip)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"models": names, "rss_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
            "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
            "estimators": sorted({type(getattr(m, "estimator", None)).__name__ for m in models}),
            "heavy_modules": [name for name in HEAVY if name in sys.modules]}


def child(*args) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--part", choices=("compare", "serve-all"), help=argparse.SUPPRESS)
    parser.add_argument("names", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "compare":
        print(json.dumps(compare(args.names, args.repeats)))
        return
    if args.part == "serve-all":
        print(json.dumps(serve_all()))
        return
    from ser_core.modelfolder.read import default_model_dir

    report = {"serve_all": child("--part", "serve-all")}
    report["keras"] = child("--part", "compare", "--repeats", str(args.repeats), "study-cnn", "study-lstm", "study-cnn-lstm")
    report["torch"] = child("--part", "compare", "--repeats", str(args.repeats), "logmel-cnn", default_model_dir().name)
    report.update(repeats=args.repeats, load_average_1min=round(os.getloadavg()[0], 2), n_cpus=os.cpu_count())
    print(json.dumps(report, indent=2))
    for framework in ("keras", "torch"):
        for name, row in report[framework].items():
            print(f"{name:22s} max |native - onnx| {row['max_abs_difference']:.1e} on {row['n_clips']} clips; "
                  f"ms per 3-s clip native {row['native']['latency_ms_median']} (cpu {row['native']['cpu_ms_median']}), "
                  f"onnx {row['onnx']['latency_ms_median']} (cpu {row['onnx']['cpu_ms_median']})")
    serve = report["serve_all"]
    print(f"one process serving all {len(serve['models'])} shipped models: {serve['rss_mb']} MB resident "
          f"(peak {serve['peak_rss_mb']} MB); torch/TensorFlow imported: {serve['heavy_modules'] or 'none'}")


if __name__ == "__main__":
    main()
