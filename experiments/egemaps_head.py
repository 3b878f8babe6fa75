"""The eighth rule (results/egemaps_head.md): does eGeMAPS beside the Whisper vector help the clean head?

Two heads, both fitted by :func:`recipes.multicorpus.fit_whisper` (the clean head's recipe, no
copies) on the six corpora's training clips that have both features: **W**, the Whisper-base
layer-3 vector alone, and **H**, that vector and the clip's 88 eGeMAPS functionals side by side.
Each is scored by leave-one-corpus-out over every corpus and on RAVDESS new speakers (the CNN's
folds); the rule's verdict is written to ``--out`` with every figure.

Usage::

    nice -n 10 python experiments/egemaps_head.py --data /work/corpora/all.csv --out results/egemaps_head.json
"""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import corpora_parser, stopwatch_log  # noqa: E402
from recipes import multicorpus as mc  # noqa: E402
from recipes.default import read_predictions  # noqa: E402

CHOICE_CORPORA = ("tess", "savee", "turev")
LOCO_GAIN = 0.01  # (1) at least one point above W
RAVDESS_SLACK = 0.005  # (2) at most half a point below W


def aligned_features(manifest):
    """``(W, H)`` datasets over the clips that have both feature kinds, in one order."""
    from ser_core.data.dataset import load_dataset

    whisper = load_dataset(manifest, feature_kind=mc.CLEAN_WHISPER_MEMBER.config.data.features)
    egemaps = load_dataset(manifest, feature_kind="EGEMAPS-16000")
    row_of = {path: row for row, path in enumerate(egemaps.paths)}
    rows = [row for row, path in enumerate(whisper.paths) if path in row_of]
    other = [row_of[whisper.paths[row]] for row in rows]

    def dataset(X):
        return SimpleNamespace(X=X, labels=whisper.labels[rows], corpora=whisper.corpora[rows],
                               speakers=whisper.speakers[rows], paths=[whisper.paths[row] for row in rows],
                               corpus_names=sorted(set(whisper.corpora[rows])), augmented={})

    return dataset(whisper.X[rows]), dataset(np.hstack([whisper.X[rows], egemaps.X[other]]))


def loco_uar(dataset) -> dict:
    """UAR on each corpus left out, the head trained on the others (labels it shares with the head)."""
    from ser_core.scoring.crosscorpus import score_shared

    out = {}
    for name in dataset.corpus_names:
        test = np.flatnonzero(dataset.corpora == name)
        estimator = mc.fit_whisper(dataset, np.flatnonzero(dataset.corpora != name), copies=())
        shared = score_shared(estimator.predict_proba(dataset.X[test]),
                              model_labels=[str(label) for label in estimator.classes_],
                              y_true=dataset.labels[test].astype(str))
        out[name] = float(shared.metrics["uar"])
    return out


def ravdess_figures(dataset) -> dict:
    """The head alone on RAVDESS new speakers, on the CNN's five folds: accuracy and UAR, means over the folds."""
    from ser_core.scoring.metrics import evaluate_predictions

    cnn_kfold = read_predictions(ROOT / "artifacts" / mc.CNN_MEMBER)["kfold"]
    folds = mc.whisper_on_cnn_folds(dataset, cnn_kfold, ())
    labels = [str(label) for label in folds["label_order"]]
    predicted = np.asarray(labels)[np.asarray(folds["probabilities"]).argmax(axis=1)]
    truth, fold_of = np.asarray(folds["labels"]).astype(str), np.asarray(folds["fold"])
    per_fold = [evaluate_predictions(truth[fold_of == fold], predicted[fold_of == fold], labels=labels)
                for fold in np.unique(fold_of)]
    return {metric: float(np.mean([fold[metric] for fold in per_fold])) for metric in ("accuracy", "uar")}


def main() -> None:
    args = corpora_parser(__doc__).parse_args()
    log = stopwatch_log()

    heads = dict(zip(("W", "H"), aligned_features(mc.training_manifest(args.data))))
    log(f"{len(heads['W'].labels)} clips with both features; H has {heads['H'].X.shape[1]} columns")
    figures = {}
    for name, dataset in heads.items():
        loco = loco_uar(dataset)
        figures[name] = {"loco_uar": loco, "loco_mean_uar": float(np.mean(list(loco.values()))),
                         "choice_mean_uar": float(np.mean([loco[corpus] for corpus in CHOICE_CORPORA])),
                         "ravdess": ravdess_figures(dataset)}
        log(f"{name}: " + json.dumps(figures[name]))
    w, h = figures["W"], figures["H"]
    adopted = (h["choice_mean_uar"] >= w["choice_mean_uar"] + LOCO_GAIN
               and h["ravdess"]["accuracy"] >= w["ravdess"]["accuracy"] - RAVDESS_SLACK)
    verdict = (f"TESS/SAVEE/TurEV-DB left out {h['choice_mean_uar']:.2%} (H) vs {w['choice_mean_uar']:.2%} (W), "
               f"RAVDESS new speakers {h['ravdess']['accuracy']:.2%} vs {w['ravdess']['accuracy']:.2%}: "
               f"{'worth a rebuild' if adopted else 'not worth a rebuild'}")
    log(f"rule: {verdict}")
    args.out.write_text(json.dumps({
        "experiment": "the eighth rule (results/egemaps_head.md)",
        "command": f"python experiments/egemaps_head.py --data {args.data} --out {args.out}",
        "n_clips": len(heads["W"].labels), "choice_corpora": list(CHOICE_CORPORA), "heads": figures,
        "worth_a_rebuild": adopted, "verdict": verdict}, indent=1) + "\n")


if __name__ == "__main__":
    main()
