"""The seventh rule (results/speed_copies.md): train both Whisper heads also on speed copies?

Candidate G is built by the recipe's own code (:func:`recipes.multicorpus.build_default` with
``whisper_members(SPEED_COPIES)``) into ``--scratch``, beside a copy of the shipped CNN, and its
card is compared with the shipped default's on the rule's two figures:

1. the ensemble's leave-one-corpus-out mean UAR over TESS, SAVEE and TurEV-DB: at least 1.0 point up;
2. RAVDESS new speakers (5 folds by actor): accuracy at most 0.5 point down.

A finished member folder in ``--scratch`` is reused when the run is restarted. ``--out`` keeps
every figure of both cards, the report set (nEMO, ASED) and each head's own leave-one-corpus-out.

Usage::

    nice -n 10 python experiments/speed_copies.py --data /work/corpora/all.csv --scratch /work/scratch/speed \\
        --out results/speed_copies.json
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import corpora_parser, stopwatch_log  # noqa: E402
from recipes import multicorpus as mc  # noqa: E402

CHOICE_CORPORA = ("tess", "savee", "turev")
LOCO_GAIN = 0.01  # (1) at least one point up
RAVDESS_SLACK = 0.005  # (2) at most half a point down


def figures(folder) -> dict:
    """A model folder's leave-one-corpus-out UAR per corpus and RAVDESS new-speaker accuracy and UAR, from its card."""
    from ser_core.modelfolder.read import read_metrics

    protocols = read_metrics(folder).protocols
    out = {"loco_uar": {fold["test_corpus"]: float(fold["uar"]) for fold in protocols["loco"].folds}}
    if "kfold" in protocols:
        out.update(ravdess_accuracy=float(protocols["kfold"].mean("accuracy")),
                   ravdess_uar=float(protocols["kfold"].mean("uar")))
    return out


def mean_over(loco: dict, corpora) -> float:
    return float(np.mean([loco[name] for name in corpora]))


def main() -> None:
    parser = corpora_parser(__doc__)
    parser.add_argument("--scratch", type=Path, required=True, help="where candidate G's folders are built")
    args = parser.parse_args()
    log = stopwatch_log()

    artifacts = ROOT / "artifacts"
    args.scratch.mkdir(parents=True, exist_ok=True)
    if not (args.scratch / mc.CNN_MEMBER / "config.json").is_file():
        shutil.copytree(artifacts / mc.CNN_MEMBER, args.scratch / mc.CNN_MEMBER, dirs_exist_ok=True)
    members = mc.whisper_members(mc.SPEED_COPIES)
    command = (f"python experiments/speed_copies.py --data {args.data} --scratch {args.scratch} --out {args.out}")
    folder = mc.build_default(args.data, root=args.scratch, set_default=False, members=members, command=command,
                              log=log)
    shipped, candidate = figures(artifacts / mc.ENSEMBLE_NAME), figures(folder)
    choice = {name: mean_over(card["loco_uar"], CHOICE_CORPORA) for name, card in (("shipped", shipped),
                                                                                    ("G", candidate))}
    adopted = (choice["G"] >= choice["shipped"] + LOCO_GAIN
               and candidate["ravdess_accuracy"] >= shipped["ravdess_accuracy"] - RAVDESS_SLACK)
    verdict = (f"TESS/SAVEE/TurEV-DB left out {choice['G']:.2%} vs {choice['shipped']:.2%}, RAVDESS new speakers "
               f"{candidate['ravdess_accuracy']:.2%} vs {shipped['ravdess_accuracy']:.2%}: "
               f"{'adopted' if adopted else 'not adopted'}")
    log(f"rule: {verdict}")
    heads = {member.name: {"shipped": figures(artifacts / member.name)["loco_uar"],
                           "G": figures(args.scratch / member.name)["loco_uar"]} for member in members}
    args.out.write_text(json.dumps({
        "experiment": "the seventh rule (results/speed_copies.md)", "command": command,
        "choice_corpora": list(CHOICE_CORPORA), "choice_mean_uar": choice,
        "ensemble": {"shipped": shipped, "G": candidate},
        "unseen_mean_uar": {"shipped": float(np.mean(list(shipped["loco_uar"].values()))),
                            "G": float(np.mean(list(candidate["loco_uar"].values())))},
        "heads_loco_uar": heads, "adopted": adopted, "verdict": verdict}, indent=1) + "\n")


if __name__ == "__main__":
    main()
