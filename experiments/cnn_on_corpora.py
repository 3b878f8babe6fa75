"""Probabilities of a shipped model on every clip of a laid-out corpus, for ensemble experiments.

Usage::

    nice -n 10 python experiments/cnn_on_corpora.py --model artifacts/logmel-cnn \\
        --manifest /work/corpora/tess.csv --out /work/features/logmel-cnn_tess.npz
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    import pandas as pd

    from ser_core.modelfolder.read import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model = load_model(args.model)
    table = pd.read_csv(args.manifest)
    root = Path(args.manifest).parent
    probabilities = np.full((len(table), len(model.labels)), np.nan, dtype=np.float32)
    started = time.time()
    for row, path in enumerate(table["path"]):
        try:
            prediction = model.predict_audio(str(root / path))
            probabilities[row] = [prediction.probabilities[label] for label in model.labels]
        except Exception as error:  # noted, as the corpus extraction does
            print(f"{path}: {error}", flush=True)
    np.savez(args.out, probabilities=probabilities, labels=table["label"].to_numpy(str),
             speakers=table["speaker"].to_numpy(str), paths=table["path"].to_numpy(str),
             label_order=np.array(model.labels))
    print(f"wrote {args.out}: {len(table)} clips in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
