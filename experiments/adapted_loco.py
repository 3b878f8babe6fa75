"""Adapting to a voice (Predict's "Adapt to a voice") on speech the default never heard: results/adapted_loco.md.

Each corpus the CNN never heard is left out in turn. Its clips are classified as the shipped
default classifies a voice it was adapted to (Predict's "Adapt to a voice", ``predict --speaker``):
each speaker's statistics come from all of that speaker's clips (emotions unknown, shrunk toward
the training population by :data:`ser_core.serving.speakers.DEFAULT_PRIOR_CLIPS`), the Whisper
head's speaker-adapted head trained without the corpus, the clips routed by the CNN's gate
(and again with the statistics of only ten of each speaker's clips, as a visitor would enrol):

* **inside only** (the ensemble before this fix): clean wide-band recordings to the CNN and the
  adapted head; the others to the noise-trained head's single-clip head, not adapted;
* **every clip**: the others to the noise-trained head's speaker-adapted head, which is trained
  on the same clean clips with the same settings as the clean head's (its copies train only its
  single-clip head), hence the same head.

Scored on the labels each corpus shares with the model (the choice restricted to them), beside
the card's single-clip leave-one-corpus-out, by the recipe's own
:func:`recipes.multicorpus.adapted_unseen_corpora` (whose "every clip, all clips" figure the
default's card carries as ``loco_speaker_adapted``).

Usage::

    nice -n 10 python experiments/adapted_loco.py --data /work/corpora/all.csv --out results/adapted_loco.json
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import corpora_parser, stopwatch_log  # noqa: E402
from recipes import multicorpus as mc  # noqa: E402

#: Where a speaker's statistics come from: all of the speaker's clips, or ten of them.
ENROLMENTS = {"all clips": None, "10 clips": 10}


def main() -> None:
    from ser_core.data.dataset import load_dataset

    args = corpora_parser(__doc__).parse_args()
    log = stopwatch_log()
    artifacts = ROOT / "artifacts"
    manifest = mc.training_manifest(args.data)
    dataset = load_dataset(manifest, feature_kind=mc.WHISPER_MEMBER.config.data.features,
                           augment=mc.WHISPER_MEMBER.config.data.augment)
    folders = {member.name: artifacts / member.name for member in mc.SHIPPED_MEMBERS}
    evidence = mc.gather_evidence(dataset, manifest=manifest, cnn_folder=artifacts / mc.CNN_MEMBER, folders=folders)
    choice = mc.routed_choice(evidence, mc.SHIPPED_ROUTE)
    single = {fold["test_corpus"]: float(fold["uar"]) for fold in choice.loco.folds}
    results = {(name, route): mc.adapted_unseen_corpora(evidence, choice.temperatures["members"],
                                                        enrolment=enrolment, adapted_outside=route == "every_clip",
                                                        log=log)
               for name, enrolment in ENROLMENTS.items() for route in ("inside_only", "every_clip")}
    inside_share = {name: float(np.mean([evidence.inside[path] for path, corpus in
                                         zip(dataset.paths, dataset.corpora) if corpus == name]))
                    for name in evidence.unseen}
    rows = {corpus: {"single_clip_uar": single[corpus], "inside_gate": inside_share[corpus],
                     **{name: {route: {key: results[name, route].folds[i][key] for key in ("uar", "accuracy")}
                               | {"clips": results[name, route].folds[i]["n_test_clips"]}
                               for route in ("inside_only", "every_clip")} for name in ENROLMENTS}}
            for i, corpus in enumerate(evidence.unseen)}
    means = {"single_clip_uar": float(np.mean(list(single.values()))),
             **{f"{name}, {route}": float(result.mean("uar")) for (name, route), result in results.items()}}
    args.out.write_text(json.dumps({
        "experiment": "\"Adapt to a voice\" on speech the default never heard (results/adapted_loco.md)",
        "command": f"python experiments/adapted_loco.py --data {args.data} --out {args.out}",
        "left_out": rows, "mean_uar": means}, indent=1) + "\n")
    log(f"mean UAR: {means}; wrote {args.out}")


if __name__ == "__main__":
    main()
