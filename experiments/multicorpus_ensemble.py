"""Rule 4 of results/multicorpus.md: does the RAVDESS log-mel CNN join the multi-corpus member?

The Whisper member is the candidate ``experiments/multicorpus.py`` chose. Two figures, each
for the member alone and for the equal-weight average of both members' probabilities:

* RAVDESS new speakers: the cards' folds (``grouped_kfold(seed=42)`` over actors 01-20); the
  CNN's out-of-fold probabilities come from ``artifacts/logmel-cnn/predictions.npz``, the
  Whisper member is trained on the other folds plus every other corpus;
* leave one corpus out over TESS, SAVEE and TurEV: the Whisper member trained on the other
  three corpora, the CNN as shipped (trained on RAVDESS only, which is not the corpus left
  out); shared labels, choice restricted to them.

Needs ``experiments/cnn_on_corpora.py`` outputs for the three corpora.

Usage::

    nice -n 10 python experiments/multicorpus_ensemble.py --out results/multicorpus_ensemble.json
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import multicorpus as mc  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def scores(probabilities, label_order, truth):
    """Accuracy and UAR with the choice restricted to the labels present in ``truth``."""
    from sklearn.metrics import balanced_accuracy_score

    present = sorted(set(truth) & set(label_order))
    keep = np.isin(truth, present)
    columns = [list(label_order).index(label) for label in present]
    predicted = np.array(present)[probabilities[keep][:, columns].argmax(axis=1)]
    return {"accuracy": float((predicted == truth[keep]).mean()),
            "uar": float(balanced_accuracy_score(truth[keep], predicted)), "n_clips": int(keep.sum())}


def aligned(model, X, order):
    """The model's probabilities with columns in ``order``."""
    probabilities = model.predict_proba(X)
    classes = list(model.classes_)
    return probabilities[:, [classes.index(label) for label in order]]


def ravdess_rows(data, feature_set, C):
    """Out-of-fold probabilities on RAVDESS of the Whisper member, and the CNN's, on the cards' folds."""
    cnn = np.load(ROOT / "artifacts/logmel-cnn/predictions.npz", allow_pickle=False)
    order = list(cnn["kfold/label_order"])
    by_name = {Path(p).name: i for i, p in enumerate(cnn["kfold/paths"])}
    ravdess = data["ravdess"]
    names = [Path(p).name for p in np.load("/work/features/whisper_ravdess.npz")["paths"]]
    rows = np.array([by_name[name] for name in names])
    folds = cnn["kfold/fold"][rows]
    X_r, labels_r = mc.feature_matrix(ravdess, feature_set), ravdess["labels"]
    X_o, labels_o, corpora_o = mc.stack(data, [n for n in mc.CORPORA if n != "ravdess"], feature_set)
    whisper = np.zeros((len(labels_r), len(order)))
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        model = mc.fit(np.concatenate([X_r[train], X_o]), np.concatenate([labels_r[train], labels_o]),
                       np.concatenate([["ravdess"] * int(train.sum()), corpora_o]), C=C)
        whisper[test] = aligned(model, X_r[test], order)
    cnn_probabilities = cnn["kfold/probabilities"][rows]
    return {"whisper": scores(whisper, order, labels_r), "cnn": scores(cnn_probabilities, order, labels_r),
            "average": scores((whisper + cnn_probabilities) / 2, order, labels_r)}


def loco_rows(data, feature_set, C):
    """TESS, SAVEE, TurEV left out: the Whisper member, the shipped CNN, and their average."""
    rows = {}
    for held_out in ("tess", "savee", "turev"):
        cnn = np.load(f"/work/features/logmel-cnn_{held_out}.npz", allow_pickle=False)
        order = list(cnn["label_order"])
        rest = [n for n in mc.CORPORA if n != held_out]
        model = mc.fit(*mc.stack(data, rest, feature_set), C=C)
        whisper = aligned(model, mc.feature_matrix(data[held_out], feature_set), order)
        truth = data[held_out]["labels"]
        assert list(cnn["labels"]) == list(truth), "clip order differs between the two feature files"
        rows[held_out] = {"whisper": scores(whisper, order, truth), "cnn": scores(cnn["probabilities"], order, truth),
                          "average": scores((whisper + cnn["probabilities"]) / 2, order, truth)}
        print(held_out, {k: round(v["uar"], 3) for k, v in rows[held_out].items()}, flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chosen", default="results/multicorpus.json")
    parser.add_argument("--out", default="results/multicorpus_ensemble.json")
    args = parser.parse_args()
    chosen = json.loads(Path(args.chosen).read_text())["chosen"]
    data = {name: mc.load_corpus("/work/features", name) for name in mc.CORPORA}
    loco = loco_rows(data, chosen["features"], chosen["C"])
    ravdess = ravdess_rows(data, chosen["features"], chosen["C"])
    print("ravdess kfold", {k: round(v["accuracy"], 3) for k, v in ravdess.items()})
    means = {member: float(np.mean([loco[n][member]["uar"] for n in loco])) for member in ("whisper", "cnn", "average")}
    result = {"command": "python experiments/multicorpus_ensemble.py " + " ".join(sys.argv[1:]), "chosen": chosen,
              "ravdess_kfold": ravdess, "loco": loco, "loco_mean_uar": means}
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(means))


if __name__ == "__main__":
    main()
