"""The sixth rule (results/speaker_nuisance.md): project the speakers' directions out of the Whisper heads?

The clean Whisper head's recipe (``recipes.multicorpus.CLEAN_WHISPER_MEMBER``: layer 3, C = 0.03,
corpora and classes weighted alike) with ``nuisance_dims`` = k for each k of :data:`DIMS`, on
the cached features of the corpora's training clips (the example speakers left out, as the
heads are trained):

1. nested leave-one-corpus-out: for each corpus left out, k chosen by leave-one-corpus-out over
   the other corpora; every regression trained without two corpora serves two inner scores;
2. the k to ship: the best leave-one-corpus-out over all the corpora;
3. RAVDESS new speakers for that k and for k = 0: the CNN's five folds by actor, the head
   trained on the other folds plus every other corpus.

The rule is applied as written; ``--out`` keeps every figure. 84 regressions of the
single-clip head (:func:`ser_core.models.adaptive_linear._fit_head`, as the members fit it)
and 10 on RAVDESS folds.

Usage::

    nice -n 10 python experiments/speaker_nuisance.py --data /work/corpora/all.csv --out results/speaker_nuisance.json
"""

import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import corpora_parser, stopwatch_log  # noqa: E402
from recipes import multicorpus as mc  # noqa: E402
from recipes.default import read_predictions  # noqa: E402

DIMS = (0, 8, 16, 32)
NESTED_GAIN = 0.01  # (1) at least one point above k = 0
RAVDESS_SLACK = 0.005  # (3) at most half a point below k = 0


class Corpora:
    """The clean clips' features, labels, corpora, speakers and training weights."""

    def __init__(self, manifest):
        from ser_core.data.dataset import load_dataset
        from ser_core.data.splits import speaker_keys

        self.dataset = load_dataset(manifest, feature_kind=mc.CLEAN_WHISPER_MEMBER.config.data.features)
        self.names = sorted(self.dataset.corpus_names)
        self.speakers = speaker_keys(self.dataset.speakers, self.dataset.corpora)

    def fit(self, rows, dims):
        """The clean head's single-clip regression on ``rows``, ``dims`` speaker directions projected out.

        Returns ``(classes, (mean, scale, coef, intercept))``; the speaker-adapted head is not scored here.
        """
        from ser_core.models.adaptive_linear import _fit_head
        from ser_core.training.train import balance_weights

        data = self.dataset
        params = mc.CLEAN_WHISPER_MEMBER.config.make_estimator().get_params()
        head = _fit_head(data.X[rows], data.labels[rows], C=params["C"], max_iter=params["max_iter"],
                         class_weight=params["class_weight"],
                         sample_weight=balance_weights(data.labels[rows], data.corpora[rows]),
                         speakers=self.speakers[rows], nuisance_dims=dims)
        return np.unique(data.labels[rows]), head

    def probabilities(self, fitted, rows):
        """The fitted head's probabilities of ``rows``."""
        from ser_core.models.adaptive_linear import _softmax

        _, (mean, scale, coef, intercept) = fitted
        return _softmax(((self.dataset.X[rows] - mean) / scale) @ coef.T + intercept)

    def uar(self, fitted, corpus):
        """UAR on ``corpus`` over the labels it shares with the head, the choice restricted to them."""
        from ser_core.scoring.crosscorpus import score_shared

        rows = np.flatnonzero(self.dataset.corpora == corpus)
        shared = score_shared(self.probabilities(fitted, rows), model_labels=[str(c) for c in fitted[0]],
                              y_true=self.dataset.labels[rows].astype(str))
        return float(shared.metrics["uar"])

    def without(self, *corpora):
        return np.flatnonzero(~np.isin(self.dataset.corpora, corpora))


def loco_tables(corpora, log):
    """``outer[k][a]``: UAR on corpus a trained without it; ``inner[k][(a, b)]``: UAR on b trained without a and b."""
    outer = {k: {} for k in DIMS}
    inner = {k: {} for k in DIMS}
    for k in DIMS:
        for a in corpora.names:
            outer[k][a] = corpora.uar(corpora.fit(corpora.without(a), k), a)
        log(f"k={k}: leave-one-corpus-out " + ", ".join(f"{a} {u:.3f}" for a, u in outer[k].items())
            + f"; mean {np.mean(list(outer[k].values())):.4f}")
        for a, b in itertools.combinations(corpora.names, 2):
            fitted = corpora.fit(corpora.without(a, b), k)
            inner[k][(a, b)], inner[k][(b, a)] = corpora.uar(fitted, b), corpora.uar(fitted, a)
        log(f"k={k}: the {len(corpora.names) * (len(corpora.names) - 1) // 2} inner pairs done")
    return outer, inner


def nested(corpora, outer, inner):
    """Per corpus left out: the k its inner leave-one-corpus-out chose, and that k's UAR on it."""
    rows = {}
    for a in corpora.names:
        others = [b for b in corpora.names if b != a]
        inner_mean = {k: float(np.mean([inner[k][(a, b)] for b in others])) for k in DIMS}
        chosen = max(DIMS, key=lambda k: (round(inner_mean[k], 12), -k))
        rows[a] = {"chosen_k": chosen, "inner_mean_uar": inner_mean, "uar": outer[chosen][a]}
    return rows


def ravdess_accuracy(corpora, dims):
    """The head alone on RAVDESS new speakers: the CNN's folds, trained on the other folds plus every other corpus."""
    data = corpora.dataset
    cnn_kfold = read_predictions(ROOT / "artifacts" / mc.CNN_MEMBER)["kfold"]
    by_name = {Path(path).name: row for row, path in enumerate(data.paths) if data.corpora[row] == "ravdess"}
    present = [i for i, path in enumerate(cnn_kfold["paths"]) if Path(path).name in by_name]
    rows = np.array([by_name[Path(cnn_kfold["paths"][i]).name] for i in present])
    folds = np.asarray(cnn_kfold["fold"])[present]
    others = np.flatnonzero(data.corpora != "ravdess")
    correct = []
    for fold in np.unique(folds):
        fitted = corpora.fit(np.concatenate([rows[folds != fold], others]), dims)
        test = rows[folds == fold]
        predicted = fitted[0][corpora.probabilities(fitted, test).argmax(axis=1)]
        correct.append(float(np.mean(predicted == data.labels[test])))
    return float(np.mean(correct)), correct


def main() -> None:
    args = corpora_parser(__doc__).parse_args()
    log = stopwatch_log()

    corpora = Corpora(mc.training_manifest(args.data))
    log(f"{len(corpora.dataset.labels)} clips of {', '.join(corpora.names)}")
    outer, inner = loco_tables(corpora, log)
    per_corpus = nested(corpora, outer, inner)
    nested_mean = float(np.mean([row["uar"] for row in per_corpus.values()]))
    plain = {k: float(np.mean(list(outer[k].values()))) for k in DIMS}
    ship = max(DIMS, key=lambda k: (round(plain[k], 12), -k))
    log(f"nested leave-one-corpus-out {nested_mean:.4f} vs k=0 {plain[0]:.4f}; k to ship {ship}")
    ravdess = {0: ravdess_accuracy(corpora, 0)}
    if ship:
        ravdess[ship] = ravdess_accuracy(corpora, ship)
    log("RAVDESS new speakers, head alone: " + ", ".join(f"k={k} {acc:.4f}" for k, (acc, _) in ravdess.items()))
    adopted = (nested_mean >= plain[0] + NESTED_GAIN and ship != 0
               and ravdess[ship][0] >= ravdess[0][0] - RAVDESS_SLACK)
    verdict = (f"nested {nested_mean:.2%} vs {plain[0]:.2%} (k=0), RAVDESS {ravdess[ship][0]:.2%} (k={ship}) vs "
               f"{ravdess[0][0]:.2%}: {'adopted, k=' + str(ship) if adopted else 'not adopted'}")
    log(f"rule: {verdict}")
    args.out.write_text(json.dumps({
        "experiment": "the sixth rule (results/speaker_nuisance.md)",
        "command": f"python experiments/speaker_nuisance.py --data {args.data} --out {args.out}",
        "dims": list(DIMS), "loco_uar": {str(k): outer[k] for k in DIMS},
        "loco_mean_uar": {str(k): plain[k] for k in DIMS}, "nested": per_corpus, "nested_mean_uar": nested_mean,
        "k_to_ship": ship,
        "ravdess_accuracy": {str(k): {"mean": acc, "folds": folds} for k, (acc, folds) in ravdess.items()},
        "adopted": adopted, "verdict": verdict}, indent=1) + "\n")


if __name__ == "__main__":
    main()
