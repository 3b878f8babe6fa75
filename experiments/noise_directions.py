"""The ninth rule (results/noise_directions.md): project what noise does out of the noise-trained head?

For each k of :data:`DIMS`, the noise-trained head's recipe (:func:`recipes.multicorpus.fit_whisper`
with ``copy_dims`` = k) is trained with each corpus left out in turn and scores that corpus's
clean clips and its three copies (the choice restricted to the labels it shares with the head):
UAR on the clean clips, the share of labels a copy leaves unchanged, UAR on the copies. The rule
chooses on TESS, SAVEE and TurEV-DB; ASED, nEMO and RAVDESS are reported. The chosen k (if not 0)
is then scored on RAVDESS new speakers (the CNN's 5 folds by actor) against k = 0.

Usage::

    nice -n 10 python experiments/noise_directions.py --data /work/corpora/all.csv --out results/noise_directions.json
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import corpora_parser, stopwatch_log  # noqa: E402
from recipes import multicorpus as mc  # noqa: E402
from recipes.default import read_predictions  # noqa: E402

DIMS = (0, 4, 16, 64)
CHOICE_CORPORA = ("tess", "savee", "turev")
UAR_SLACK = 0.01  # 1. eligible: clean UAR at most one point below k = 0
TIE = 0.005  # 2. within half a point of the best unchanged share: the smallest k
STEADIER = 0.03  # 3. adopted: at least three points more labels unchanged than k = 0
RAVDESS_SLACK = 0.005  # 3. and RAVDESS new-speaker accuracy at most half a point below k = 0


def restricted(estimator, X, shared) -> np.ndarray:
    """The estimator's label for each row of ``X``, its choice restricted to ``shared``."""
    classes = [str(label) for label in estimator.classes_]
    columns = [classes.index(label) for label in shared]
    return np.asarray(shared)[np.argmax(estimator.predict_proba(X)[:, columns], axis=1)]


def uar(truth, predicted) -> float:
    return float(np.mean([np.mean(predicted[truth == label] == label) for label in np.unique(truth)]))


def left_out(dataset, corpus, dims, copies) -> dict:
    """(a) clean UAR, (b) labels unchanged per copy, (c) UAR per copy on ``corpus``, the head trained without it."""
    estimator = mc.fit_whisper(dataset, np.flatnonzero(dataset.corpora != corpus), copies, {"copy_dims": dims})
    test = np.flatnonzero(dataset.corpora == corpus)
    truth = dataset.labels[test].astype(str)
    shared = [str(label) for label in estimator.classes_ if str(label) in set(truth)]
    keep = np.isin(truth, shared)
    test, truth = test[keep], truth[keep]
    clean = restricted(estimator, dataset.X[test], shared)
    noisy = {key: restricted(estimator, dataset.augmented[key][test], shared) for key in copies}
    return {"clips": int(len(test)), "clean_uar": uar(truth, clean),
            "unchanged": {key: float(np.mean(noisy[key] == clean)) for key in copies},
            "copy_uar": {key: uar(truth, noisy[key]) for key in copies}}


def mean_unchanged(row) -> float:
    return float(np.mean(list(row["unchanged"].values())))


def ravdess_accuracy(dataset, dims, copies) -> float:
    """The head alone on RAVDESS new speakers: the CNN's folds, trained on the other folds plus every other corpus."""
    cnn_kfold = read_predictions(ROOT / "artifacts" / mc.CNN_MEMBER)["kfold"]
    rows = mc.cnn_fold_rows(dataset, cnn_kfold)
    folds = np.asarray(cnn_kfold["fold"])
    others = np.flatnonzero(dataset.corpora != "ravdess")
    correct = []
    for fold in np.unique(folds):
        estimator = mc.fit_whisper(dataset, np.concatenate([rows[folds != fold], others]), copies,
                                   {"copy_dims": dims})
        test = rows[folds == fold]
        correct.append(float(np.mean(estimator.predict(dataset.X[test]) == dataset.labels[test])))
    return float(np.mean(correct))


def choose(table) -> tuple[int, dict]:
    """Steps 1-2 of the rule on the choice set: the winner and each k's mean clean UAR and unchanged share."""
    summary = {k: {"clean_uar": float(np.mean([table[k][c]["clean_uar"] for c in CHOICE_CORPORA])),
                   "unchanged": float(np.mean([mean_unchanged(table[k][c]) for c in CHOICE_CORPORA]))}
               for k in DIMS}
    eligible = [k for k in DIMS if summary[k]["clean_uar"] >= summary[0]["clean_uar"] - UAR_SLACK]
    best = max(summary[k]["unchanged"] for k in eligible)
    return min(k for k in eligible if summary[k]["unchanged"] >= best - TIE), summary


def main() -> None:
    from ser_core.data.dataset import load_dataset

    args = corpora_parser(__doc__).parse_args()
    log = stopwatch_log()
    copies = mc.WHISPER_MEMBER.config.data.augment
    dataset = load_dataset(mc.training_manifest(args.data), feature_kind=mc.WHISPER_MEMBER.config.data.features,
                           augment=copies)
    table = {k: {} for k in DIMS}
    for k in DIMS:
        for corpus in sorted(dataset.corpus_names):
            table[k][corpus] = left_out(dataset, corpus, k, copies)
            row = table[k][corpus]
            log(f"k={k} {corpus} left out: clean UAR {row['clean_uar']:.4f}, unchanged {mean_unchanged(row):.4f} "
                f"({', '.join(f'{key} {v:.3f}' for key, v in row['unchanged'].items())})")
    chosen, summary = choose(table)
    log("choice set: " + "; ".join(f"k={k} UAR {s['clean_uar']:.4f} unchanged {s['unchanged']:.4f}"
                                    for k, s in summary.items()) + f"; winner k={chosen}")
    ravdess = {0: ravdess_accuracy(dataset, 0, copies)}
    steadier = summary[chosen]["unchanged"] >= summary[0]["unchanged"] + STEADIER
    if chosen and steadier:
        ravdess[chosen] = ravdess_accuracy(dataset, chosen, copies)
    adopted = bool(chosen and steadier and ravdess[chosen] >= ravdess[0] - RAVDESS_SLACK)
    log("RAVDESS new speakers, head alone: " + ", ".join(f"k={k} {a:.4f}" for k, a in ravdess.items())
        + f"; {'adopted' if adopted else 'not adopted'}")
    args.out.write_text(json.dumps({
        "experiment": "the ninth rule (results/noise_directions.md)",
        "command": f"python experiments/noise_directions.py --data {args.data} --out {args.out}",
        "dims": list(DIMS), "copies": list(copies), "choice_corpora": list(CHOICE_CORPORA),
        "left_out": {str(k): rows for k, rows in table.items()},
        "choice_summary": {str(k): s for k, s in summary.items()}, "chosen_k": chosen,
        "ravdess_accuracy": {str(k): a for k, a in ravdess.items()}, "adopted": adopted}, indent=1) + "\n")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
