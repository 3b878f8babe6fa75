"""How steady are the tenth rule's heads under noise? A measurement for results/frame_head.md, not a rule.

The linear reference and the attentive head (:mod:`frame_head`, clean clips only, the same
settings) are trained with each corpus left out in turn and score that corpus's clean clips and
its three copies (white and pink noise at 20 dB SNR, a telephone band: the noise-trained head's
copies, states from ``experiments/frame_states.py --augment``), their choice restricted to the
labels the corpus shares with them: the share of clips whose label a copy leaves unchanged, and
UAR on the copies. Resumable: every finished corpus and head is saved and skipped on a rerun.

Usage::

    nice -n 10 python experiments/frame_head_noise.py --states /work/features/l3_frames.npz \\
        --out results/frame_head_noise.json
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from frame_head import States, make_head, uar  # noqa: E402

COPIES = ("whitenoise20", "noise20", "telephone")
HEADS = ("linear", "attentive")


class CopyStates(States):
    """A copy's states in the clean store's rows, with its pooled vectors computed from them."""

    def __init__(self, clean: States, path: Path):
        with np.load(path) as saved:
            self.flat = saved["states"]
            self.lengths = saved["lengths"]
            if not np.array_equal(saved["paths"].astype(str), clean.paths):
                raise SystemExit(f"{path} holds other clips than the clean states")
        self.labels, self.corpora, self.paths = clean.labels, clean.corpora, clean.paths
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.pooled = np.stack([self._mean_std(row) for row in range(len(self.lengths))]).astype(np.float32)

    def _mean_std(self, row):
        clip = self.clip(row).astype(np.float32)
        return np.concatenate([clip.mean(0), clip.std(0)])


def scored(head, states, rows, shared):
    columns = [list(head.classes_).index(label) for label in shared]
    return np.asarray(shared)[np.argmax(head.predict_proba(rows)[:, columns], axis=1)]


def left_out(clean: States, copies: dict, kind: str, corpus: str) -> dict:
    return steadiness(make_head(kind, clean, np.flatnonzero(clean.corpora != corpus)), clean, copies, corpus)


def steadiness(head, clean: States, copies: dict, corpus: str) -> dict:
    """A head trained without ``corpus`` on its clean clips and each copy: clean UAR, labels unchanged, copy UAR."""
    test = np.flatnonzero(clean.corpora == corpus)
    truth = clean.labels[test]
    shared = [label for label in head.classes_ if label in set(truth)]
    test, truth = test[np.isin(truth, shared)], truth[np.isin(truth, shared)]
    base = scored(head, clean, test, shared)
    out = {"clips": int(len(test)), "clean_uar": uar(truth, base), "unchanged": {}, "copy_uar": {}}
    for key, states in copies.items():
        head.states = states  # the same trained head reads the copy's states
        labels = scored(head, states, test, shared)
        out["unchanged"][key] = float(np.mean(labels == base))
        out["copy_uar"][key] = uar(truth, labels)
    head.states = clean
    return out


def states_arguments(description: str) -> argparse.Namespace:
    """``--states`` (the clean states; the copies' sit beside them) and ``--out``, from the command line."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--states", type=Path, required=True, help="the clean states; copies sit beside them")
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args()


def clean_and_copies(path: Path) -> tuple[States, dict]:
    """The clean states at ``path`` and each copy's (``<stem>_<key>.npz`` beside it), by key of :data:`COPIES`."""
    clean = States(path)
    return clean, {key: CopyStates(clean, path.with_name(f"{path.stem}_{key}.npz")) for key in COPIES}


def main() -> None:
    args = states_arguments(__doc__.splitlines()[0])
    started = time.perf_counter()
    clean, copies = clean_and_copies(args.states)
    table = json.loads(args.out.read_text())["left_out"] if args.out.exists() else {}
    for corpus in sorted(set(clean.corpora)):
        for kind in HEADS:
            if corpus in table.get(kind, {}):
                continue
            row = table.setdefault(kind, {})[corpus] = left_out(clean, copies, kind, corpus)
            print(f"[{time.perf_counter() - started:6.0f} s] {kind} {corpus} left out: clean UAR "
                  f"{row['clean_uar']:.4f}, unchanged " + ", ".join(f"{k} {v:.3f}" for k, v in row["unchanged"].items()),
                  flush=True)
            args.out.write_text(json.dumps({"measurement": "results/frame_head.md, steadiness under noise",
                                            "command": f"python experiments/frame_head_noise.py --states "
                                                       f"{args.states} --out {args.out}",
                                            "copies": list(COPIES), "left_out": table}, indent=1))


if __name__ == "__main__":
    main()
