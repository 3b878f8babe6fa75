"""A 34-minute 48 kHz recording through ``python -m ser_core predict --json``: time, peak memory, records.

The recording is made from RAVDESS clips of all eight emotions, upsampled to 48 kHz and
concatenated (with short pauses) until it lasts ``--minutes``; the CLI must stream it in
bounded memory (target: peak RSS under 500 MB) and print per-window records and a summary.

Usage:
    python bench/long_file.py                    # 34 minutes, the default model
    python bench/long_file.py --minutes 5 --model artifacts/compare-adaptive-lr
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ravdess-16k"


def make_recording(path: Path, *, minutes: float, rate: int = 48000) -> float:
    """Write a long 16-bit WAV of concatenated clips (block by block); return its duration in seconds."""
    import soundfile as sf

    sys.path.insert(0, str(ROOT))
    from ser_core.audio.preprocess import load_audio

    clips = sorted(DATA.glob("Actor_0[1-4]/*.wav"))
    pause = np.zeros(int(0.3 * rate), dtype=np.float32)
    target, written = minutes * 60 * rate, 0
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        index = 0
        while written < target:
            y = load_audio(clips[index % len(clips)], sample_rate=rate)
            block = np.concatenate([y, pause])[: int(target - written)]
            out.write(block)
            written += len(block)
            index += 1
    return written / rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=34.0)
    parser.add_argument("--model", default=None, help="model folder (default: artifacts/DEFAULT)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "long.wav"
        duration_s = make_recording(wav, minutes=args.minutes)
        size_mb = wav.stat().st_size / 1e6
        command = [sys.executable, "-m", "ser_core", "predict", str(wav), "--json"]
        if args.model:
            command += ["--model", args.model]
        start = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    summary = next((r for r in records if r.get("summary")), {})
    print(f"recording: {duration_s / 60:.1f} min at 48 kHz ({size_mb:.0f} MB)")
    print(f"exit code {run.returncode}; {len(records) - 1} window records + summary; wall {elapsed:.1f} s "
          f"({duration_s / elapsed:.0f}x real time); peak RSS {peak_mb:.0f} MB")
    print(f"summary: mostly {summary.get('label')} ({100 * summary.get('share', 0):.0f}% of windows)")
    labels = {r['label'] for r in records if 'start_s' in r and r.get('label')}
    print(f"emotions heard across the windows: {len(labels)} ({', '.join(sorted(labels))})")
    if run.returncode:
        print(run.stderr[-2000:])


if __name__ == "__main__":
    main()
