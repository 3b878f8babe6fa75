"""How much normalising by the speaker (or the corpus) adds to leave-one-corpus-out, for one candidate.

Diagnostic, not a choice: the candidate is the one ``experiments/multicorpus.py`` chose.
Rows: single clip (population statistics of the training corpora), each speaker
standardised by its own clips (training and test; at test time this is the studio's
"adapt to a voice" with every clip of the speaker, unlabelled), each corpus standardised
by its own clips.

Usage::

    nice -n 10 python experiments/multicorpus_normalisation.py --features L2 --C 0.03 \\
        --out results/multicorpus_normalisation.json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import multicorpus as mc  # noqa: E402


def standardise_within(X, groups):
    """Each group's rows z-scored by that group's own mean and std."""
    out = np.empty_like(X, dtype=np.float64)
    for group in np.unique(groups):
        rows = groups == group
        mean, std = X[rows].mean(axis=0), X[rows].std(axis=0)
        out[rows] = (X[rows] - mean) / np.where(std < 1e-9, 1.0, std)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", default="L2")
    parser.add_argument("--C", type=float, default=0.03)
    parser.add_argument("--folder", default="/work/features")
    parser.add_argument("--out", default="results/multicorpus_normalisation.json")
    args = parser.parse_args()
    data = {name: mc.load_corpus(args.folder, name) for name in mc.CORPORA}
    rows = {}
    for mode in ("single clip", "per speaker", "per corpus"):
        rows[mode] = {}
        for held_out in mc.CORPORA:
            rest = [name for name in mc.CORPORA if name != held_out]
            X, labels, corpora = mc.stack(data, rest, args.features)
            X_test = mc.feature_matrix(data[held_out], args.features)
            if mode != "single clip":
                train_groups = corpora if mode == "per corpus" else np.concatenate([data[n]["speakers"] for n in rest])
                test_groups = (np.full(len(X_test), held_out) if mode == "per corpus" else data[held_out]["speakers"])
                X, X_test = standardise_within(X, train_groups), standardise_within(X_test, test_groups)
            model = mc.fit(X, labels, corpora, C=args.C)
            rows[mode][held_out] = mc.shared_score(model, X_test, data[held_out]["labels"])
            rows[mode][held_out]["labels"] = [str(label) for label in rows[mode][held_out]["labels"]]
        rows[mode]["mean_uar"] = float(np.mean([rows[mode][n]["uar"] for n in mc.CORPORA]))
        print(mode, {n: round(rows[mode][n]["uar"], 3) for n in mc.CORPORA}, round(rows[mode]["mean_uar"], 3),
              flush=True)
    result = {"command": "python experiments/multicorpus_normalisation.py " + " ".join(sys.argv[1:]),
              "features": args.features, "C": args.C, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
