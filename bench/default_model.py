"""Size on disk and median latency per 3-s clip (preprocessing and features included) of a model.

Two figures: wall-clock milliseconds and CPU milliseconds of this process
(``time.process_time``); on a busy shared machine the wall clock includes waiting for a
core, the CPU time does not. The clip is 3 s of real speech (a RAVDESS clip with its
silence trimmed, tiled to 3 s) so trimming does not shorten it.

Usage:
    python bench/default_model.py                  # the default model (artifacts/DEFAULT)
    python bench/default_model.py artifacts/NAME --repeats 30
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.artifacts import default_model_dir, load_model  # noqa: E402

CLIP_S = 3.0
SAMPLE_RATE = 16000
SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k" / "Actor_01" / "03-01-05-02-01-01-01.wav"


def three_second_clip():
    """3 s of real speech when the corpus is beside the project, else a synthetic voiced clip."""
    if SHARED_CLIP.is_file():
        import soundfile as sf

        from ser_core.audio import preprocess

        y, sr = sf.read(SHARED_CLIP, dtype="float32")
        speech = preprocess(y, sample_rate=sr)
        return np.resize(speech, int(CLIP_S * sr)).astype(np.float32), sr
    t = np.arange(int(CLIP_S * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(140 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))) / SAMPLE_RATE
    y = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    return (0.3 * y).astype(np.float32), SAMPLE_RATE


def bench(folder, *, repeats=20, warmup=3):
    """Return size (MB), wall-clock and CPU latency (ms) per 3-s clip for the model folder."""
    model = load_model(folder)
    size = sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())
    y, sr = three_second_clip()
    for _ in range(warmup):
        model.predict(y, sample_rate=sr)
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        model.predict(y, sample_rate=sr)
        cpu.append(1000 * (time.process_time() - c0))
        wall.append(1000 * (time.perf_counter() - t0))
    return {
        "model": str(folder),
        "size_mb": round(size / 1e6, 3),
        "clip_s": round(len(y) / sr, 3),
        "latency_ms_median": round(statistics.median(wall), 1),
        "latency_ms_p90": round(float(np.percentile(wall, 90)), 1),
        "cpu_ms_median": round(statistics.median(cpu), 1),
        "repeats": repeats,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "n_cpus": os.cpu_count(),
    }


def main():
    """Print the benchmark as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", default=None)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    folder = Path(args.folder) if args.folder else default_model_dir()
    print(json.dumps(bench(folder, repeats=args.repeats), indent=2))


if __name__ == "__main__":
    main()
