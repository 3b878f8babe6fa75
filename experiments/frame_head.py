"""The tenth rule (results/frame_head.md): does a small non-linear head on the encoder's states carry further?

Every shipped Whisper head is a logistic regression on the mean and standard deviation over
time of Whisper-base's layer-3 states. Two non-linear candidates, trained with PyTorch on the
same clean clips with the same weights (corpora and classes alike), are compared with it:

* ``mlp``: the same pooled vector, standardised, through one hidden layer;
* ``attentive``: the states frame by frame, standardised, through a frame-wise layer and
  attentive statistics pooling (a learned weight per frame; weighted mean and std), then a
  linear layer.

Each candidate is trained with each corpus left out in turn and scores that corpus (its
choice restricted to the labels the corpus shares with the head): UAR and accuracy. The rule
chooses on TESS, SAVEE and TurEV-DB; ASED, nEMO and RAVDESS are reported. The winner, if not
the reference, is scored on RAVDESS new speakers (the CNN's 5 folds by actor) against it.
States come from ``experiments/frame_states.py``.

Usage::

    nice -n 10 python experiments/frame_head.py --states /work/features/l3_frames.npz --out results/frame_head.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recipes import multicorpus as mc  # noqa: E402
from recipes.default import read_predictions  # noqa: E402
from ser_core.training.train import balance_weights  # noqa: E402

CANDIDATES = ("linear", "mlp", "attentive")
CHOICE_CORPORA = ("tess", "savee", "turev")
BETTER = 0.02  # adopted: mean choice-set UAR at least two points above the reference's
RAVDESS_SLACK = 0.01  # and RAVDESS new-speaker accuracy at most one point below it
SEEDS = (0, 1)  # a torch candidate is the average of the probabilities of one model per seed
EPOCHS = 15
BATCH = 32
CROP = 300  # training crops of at most 6 s of states; scoring reads the whole clip
HIDDEN = 128
DROPOUT = 0.3
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 0.05


class States:
    """The clips' layer-3 states (float16, flat) with their offsets, labels, corpora and pooled vectors."""

    def __init__(self, path: Path):
        with np.load(path) as saved:
            self.flat = saved["states"]
            self.lengths = saved["lengths"]
            self.labels = saved["labels"].astype(str)
            self.corpora = saved["corpora"].astype(str)
            self.paths = saved["paths"].astype(str)
            self.pooled = saved["pooled"].astype(np.float32)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])

    def clip(self, row: int) -> np.ndarray:
        return self.flat[self.starts[row]:self.starts[row] + self.lengths[row]]

    def frame_stats(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of every state of ``rows`` (float64 sums, a chunk of clips at a time)."""
        total, squares, count = np.zeros(512), np.zeros(512), 0
        for chunk in np.array_split(rows, max(1, len(rows) // 500)):
            frames = np.concatenate([self.clip(row) for row in chunk]).astype(np.float64)
            total += frames.sum(0)
            squares += (frames ** 2).sum(0)
            count += len(frames)
        mean = total / count
        return mean.astype(np.float32), np.sqrt(np.maximum(squares / count - mean ** 2, 1e-8)).astype(np.float32)


def _torch():
    import torch

    torch.set_num_threads(2)
    return torch


def attentive_net(n_classes: int):
    torch = _torch()
    nn = torch.nn

    class AttentiveHead(nn.Module):
        """Frame-wise layer, attentive statistics pooling (weighted mean and std), linear layer."""

        def __init__(self):
            super().__init__()
            self.frame = nn.Sequential(nn.Linear(512, HIDDEN), nn.GELU(), nn.Dropout(DROPOUT))
            self.score = nn.Linear(HIDDEN, 1)
            self.out = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(2 * HIDDEN, n_classes))

        def forward(self, x, mask):
            h = self.frame(x)
            logits = self.score(h).squeeze(-1).masked_fill(~mask, -1e4)
            w = torch.softmax(logits, dim=1).unsqueeze(-1)
            mean = (w * h).sum(1)
            std = ((w * (h - mean.unsqueeze(1)) ** 2).sum(1) + 1e-6).sqrt()
            return self.out(torch.cat([mean, std], dim=1))

    return AttentiveHead()


def mlp_net(n_classes: int):
    nn = _torch().nn
    return nn.Sequential(nn.Dropout(0.1), nn.Linear(1024, 4 * HIDDEN), nn.GELU(), nn.Dropout(DROPOUT),
                         nn.Linear(4 * HIDDEN, n_classes))


def _padded(arrays, torch):
    longest = max(len(a) for a in arrays)
    x = np.zeros((len(arrays), longest, 512), dtype=np.float32)
    mask = np.zeros((len(arrays), longest), dtype=bool)
    for i, a in enumerate(arrays):
        x[i, :len(a)] = a
        mask[i, :len(a)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


def _crop(array, rng):
    if len(array) <= CROP:
        return array
    start = rng.integers(0, len(array) - CROP + 1)
    return array[start:start + CROP]


class TorchHead:
    """One candidate network per seed, trained on ``rows``; ``predict_proba`` averages them."""

    def __init__(self, kind: str, states: States, rows):
        self.kind, self.states = kind, states
        self.classes_ = np.array(sorted(set(states.labels[rows])))
        self.mean, self.std = self._standardisation(rows)
        weights = balance_weights(states.labels[rows], states.corpora[rows])
        self.nets = [self._fit(rows, weights, seed) for seed in SEEDS]

    def _standardisation(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """The mean and std the inputs are standardised by: of the training frames, or of the pooled vectors."""
        if self.kind == "attentive":
            return self.states.frame_stats(rows)
        return self.states.pooled[rows].mean(0), self.states.pooled[rows].std(0) + 1e-8

    def _training_clips(self, rows, rng) -> list:
        """The states a training batch reads (cropped); a subclass may draw other versions of the clips."""
        return [_crop(self.states.clip(row), rng) for row in rows]

    def _inputs(self, rows, rng=None):
        torch = _torch()
        if self.kind == "mlp":
            return (torch.from_numpy((self.states.pooled[rows] - self.mean) / self.std),)
        if rng is None:
            arrays = [self.states.clip(row) for row in rows]
        else:
            arrays = self._training_clips(rows, rng)
        return _padded([(a.astype(np.float32) - self.mean) / self.std for a in arrays], torch)

    def _fit(self, rows, weights, seed):
        torch = _torch()
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        target = torch.from_numpy(np.searchsorted(self.classes_, self.states.labels[rows]))
        net = (attentive_net if self.kind == "attentive" else mlp_net)(len(self.classes_))
        optimiser = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        steps = EPOCHS * int(np.ceil(len(rows) / BATCH))
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=LEARNING_RATE, total_steps=steps)
        w = torch.from_numpy(weights.astype(np.float32))
        net.train()
        for _ in range(EPOCHS):
            order = rng.permutation(len(rows))
            for batch in np.array_split(order, int(np.ceil(len(rows) / BATCH))):
                logits = net(*self._inputs(rows[batch], rng))
                loss = (torch.nn.functional.cross_entropy(logits, target[batch], reduction="none") * w[batch]).sum()
                loss = loss / w[batch].sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        return net.eval()

    def predict_proba(self, rows) -> np.ndarray:
        torch = _torch()
        order = np.argsort(self.states.lengths[rows]) if self.kind == "attentive" else np.arange(len(rows))
        out = np.zeros((len(rows), len(self.classes_)))
        with torch.no_grad():
            for batch in np.array_split(order, max(1, int(np.ceil(len(rows) / 64)))):
                inputs = self._inputs(rows[batch])
                out[batch] = np.mean([torch.softmax(net(*inputs), 1).numpy() for net in self.nets], axis=0)
        return out


class LinearHead:
    """The reference: the clean Whisper head's recipe as shipped, on the same pooled vectors."""

    def __init__(self, states: States, rows):
        self.states = states
        self.estimator = mc.CLEAN_WHISPER_MEMBER.config.make_estimator().fit(
            states.pooled[rows], states.labels[rows],
            sample_weight=balance_weights(states.labels[rows], states.corpora[rows]))
        self.classes_ = np.array([str(label) for label in self.estimator.classes_])

    def predict_proba(self, rows) -> np.ndarray:
        return self.estimator.predict_proba(self.states.pooled[rows])


def make_head(kind: str, states: States, rows):
    return LinearHead(states, rows) if kind == "linear" else TorchHead(kind, states, rows)


def uar(truth, predicted) -> float:
    return float(np.mean([np.mean(predicted[truth == label] == label) for label in np.unique(truth)]))


def left_out(states: States, kind: str, corpus: str) -> dict:
    """UAR and accuracy on ``corpus``, the candidate trained on every other corpus; choice restricted to shared labels."""
    head = make_head(kind, states, np.flatnonzero(states.corpora != corpus))
    test = np.flatnonzero(states.corpora == corpus)
    truth = states.labels[test]
    shared = [label for label in head.classes_ if label in set(truth)]
    keep = np.isin(truth, shared)
    test, truth = test[keep], truth[keep]
    columns = [list(head.classes_).index(label) for label in shared]
    predicted = np.asarray(shared)[np.argmax(head.predict_proba(test)[:, columns], axis=1)]
    return {"clips": int(len(test)), "uar": uar(truth, predicted), "accuracy": float(np.mean(predicted == truth))}


def ravdess_accuracy(states: States, kind: str) -> float:
    """The candidate on RAVDESS new speakers: the CNN's folds, trained on the other folds plus every other corpus."""
    cnn_kfold = read_predictions(ROOT / "artifacts" / mc.CNN_MEMBER)["kfold"]
    rows = mc.cnn_fold_rows(states, cnn_kfold)
    folds = np.asarray(cnn_kfold["fold"])
    others = np.flatnonzero(states.corpora != "ravdess")
    correct = []
    for fold in np.unique(folds):
        head = make_head(kind, states, np.concatenate([rows[folds != fold], others]))
        test = rows[folds == fold]
        predicted = head.classes_[np.argmax(head.predict_proba(test), axis=1)]
        correct.append(float(np.mean(predicted == states.labels[test])))
    return float(np.mean(correct))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args()
    started = time.perf_counter()
    states = States(args.states)
    table = json.loads(args.out.read_text())["left_out"] if args.out.exists() else {}
    order = list(CHOICE_CORPORA) + sorted(set(states.corpora) - set(CHOICE_CORPORA))

    def save(**extra):
        args.out.write_text(json.dumps({"experiment": "the tenth rule (results/frame_head.md)",
                                        "command": f"python experiments/frame_head.py --states {args.states} "
                                                   f"--out {args.out}",
                                        "left_out": table, **extra}, indent=1))

    for corpus in order:  # the choice set first; every finished cell is saved, so a rerun resumes
        for kind in args.candidates.split(","):
            if corpus in table.get(kind, {}):
                continue
            table.setdefault(kind, {})[corpus] = left_out(states, kind, corpus)
            row = table[kind][corpus]
            print(f"[{time.perf_counter() - started:6.0f} s] {kind} {corpus} left out: UAR {row['uar']:.4f}, "
                  f"accuracy {row['accuracy']:.4f} ({row['clips']} clips)", flush=True)
            save()
    choice = {kind: float(np.mean([table[kind][c]["uar"] for c in CHOICE_CORPORA])) for kind in table}
    winner = max(choice, key=choice.get)
    print("choice set mean UAR: " + ", ".join(f"{k} {v:.4f}" for k, v in choice.items()) + f"; best {winner}",
          flush=True)
    ravdess = {}
    if winner != "linear" and choice[winner] >= choice["linear"] + BETTER:
        ravdess = {kind: ravdess_accuracy(states, kind) for kind in ("linear", winner)}
    adopted = bool(ravdess) and ravdess[winner] >= ravdess["linear"] - RAVDESS_SLACK
    print(f"RAVDESS new speakers: {ravdess}; {'adopted' if adopted else 'not adopted'}", flush=True)
    save(choice_mean_uar=choice, winner=winner, ravdess_new_speakers=ravdess, adopted=adopted,
         six_corpora_mean_uar={kind: float(np.mean([r["uar"] for r in rows.values()])) for kind, rows in table.items()})


if __name__ == "__main__":
    main()
