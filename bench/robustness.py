"""Do labels survive what recordings do to audio? DC offsets, gain and resampling, on real clips.

For each of ``--clips`` RAVDESS clips (spread over every actor and emotion of the corpus),
the model's label on the clean clip is compared with its label after each perturbation;
the table gives the share of labels that did not change. Targets (issue 11): at least 95%
for DC offsets and gain; resampling is reported (8 kHz removes everything above 4 kHz,
so some change is expected).

Usage:
    python bench/robustness.py                        # the default model, 120 clips
    python bench/robustness.py --model artifacts/compare-adaptive-lr --clips 200 --json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ser_core.modelfolder.read import default_model_dir, load_model  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess-16k"
RATE = 16000


def _resampled(y, via):
    from ser_core.audio.preprocess import resample

    return resample(resample(y, orig_sr=RATE, target_sr=via), orig_sr=via, target_sr=RATE)


#: name -> (function of the clean clip, or None when it does not apply to that clip)
PERTURBATIONS = {
    "DC +0.01": lambda y: y + np.float32(0.01),
    "DC -0.01": lambda y: y - np.float32(0.01),
    "DC +0.05": lambda y: y + np.float32(0.05),
    "DC -0.05": lambda y: y - np.float32(0.05),
    "gain x0.25": lambda y: y * np.float32(0.25),
    "gain x2 (no clipping)": lambda y: y * np.float32(2.0) if np.max(np.abs(y)) <= 0.5 else None,
    "16 kHz -> 48 kHz -> 16 kHz": lambda y: _resampled(y, 48000),
    "16 kHz -> 8 kHz -> 16 kHz": lambda y: _resampled(y, 8000),
}
TARGETS = {"DC": 0.95, "gain": 0.95}


def pick_clips(data, n):
    """``n`` clips spread evenly over the corpus's sorted file list (every actor and emotion)."""
    from ser_core.data.index import index_corpus

    paths = index_corpus(data).clips["path"].tolist()
    chosen = np.linspace(0, len(paths) - 1, min(n, len(paths))).round().astype(int)
    return [paths[i] for i in chosen]


def run(model, paths):
    """Share of unchanged labels per perturbation, and how many clips each applied to."""
    from ser_core.audio.preprocess import load_audio

    unchanged = {name: [] for name in PERTURBATIONS}
    for path in paths:
        y = load_audio(path, sample_rate=RATE)
        clean = model.predict(y, sample_rate=RATE)
        for name, perturb in PERTURBATIONS.items():
            shifted = perturb(y)
            if shifted is not None:
                unchanged[name].append(model.predict(shifted, sample_rate=RATE) == clean)
    return {name: {"unchanged": float(np.mean(flags)) if flags else None, "clips": len(flags)}
            for name, flags in unchanged.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: artifacts/DEFAULT)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--clips", type=int, default=120)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = args.model or default_model_dir()
    model = load_model(folder)
    results = run(model, pick_clips(args.data, args.clips))
    if args.json:
        print(json.dumps({"model": folder.name, "results": results}))
        return
    print(f"model {folder.name} ({model.describe()}); preprocessing removes DC: {model.settings.remove_dc}")
    print(f"{'perturbation':<30}{'labels unchanged':>18}{'clips':>7}  target")
    for name, row in results.items():
        target = next((v for k, v in TARGETS.items() if name.startswith(k)), None)
        mark = "" if target is None else (f">= {target:.0%} " + ("met" if row["unchanged"] >= target else "MISSED"))
        print(f"{name:<30}{row['unchanged']:>17.1%}{row['clips']:>7}  {mark}")


if __name__ == "__main__":
    main()
