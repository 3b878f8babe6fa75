"""The default ensemble on other groupings of the 20 actors: how much its 5-fold figure owes to one grouping.

For each seed, both members of the shipped default (``recipes.default.default_members``,
only their seed changed: it draws the grouping of actors into folds and seeds the training)
run speaker-independent 5-fold by actor through ``ser_core.training.train.run_protocol``, and their
out-of-fold predictions are combined exactly as the shipped ensemble combines them
(``ser_core.training.ensemble.combine_protocol``: equal weights, cross-fitted temperatures). Seed 42
is the grouping of the model cards; nothing in the recipe was chosen on any grouping.

Prints accuracy and UAR (mean ± std over folds) of each member and of the ensemble per
seed, appends result lines to the experiments' log and writes
``results/ensemble_groupings.json``.

Usage (the CNN member is about 90 min per seed on 2 CPU cores; one background job):
    nice -n 10 python experiments/ensemble_groupings.py --seeds 1,2
    nice -n 10 python experiments/ensemble_groupings.py --seeds 1 --limit 6   # smoke test
"""

import json
from dataclasses import replace
from pathlib import Path

from common import argument_parser, corpus, log_result, result_text

from ser_core.data.dataset import load_dataset
from ser_core.training.ensemble import combine_protocol
from ser_core.training.train import run_protocol
from recipes.default import default_members

OUT = Path(__file__).resolve().parents[1] / "results" / "ensemble_groupings.json"


def member_predictions(member, index, *, seed, epochs=None):
    """One member's 5-fold result and out-of-fold predictions on the grouping of ``seed``."""
    config = replace(member.config, seed=seed, protocol=replace(member.config.protocol, also=()),
                     fit=replace(member.config.fit, **({"epochs": epochs} if epochs else {})))
    dataset = load_dataset(index, feature_kind=config.data.features, settings=config.preprocess_settings(),
                           augment=config.data.augment)
    result, predictions = run_protocol(config, dataset, protocol="kfold")["kfold"]
    return result, predictions


def main():
    """Run every seed and print one line per member and per ensemble."""
    parser = argument_parser(__doc__, seeds=(1, 2))
    parser.add_argument("--epochs", type=int, default=None, help="override the networks' epochs (smoke tests)")
    args = parser.parse_args()
    index = corpus(args.data, limit=args.limit)
    members = default_members()
    records = []
    for seed in args.seeds:
        results = [member_predictions(member, index, seed=seed, epochs=args.epochs) for member in members]
        for member, (result, _) in zip(members, results):
            print(f"seed {seed} {member.name}: {result_text(result.folds)}", flush=True)
            log_result("ensemble_groupings", result.folds, seed=seed, system=member.name)
            records.append({"seed": seed, "system": member.name, "summary": result.summary})
        ensemble, _, _ = combine_protocol([(predictions, member.weight) for member, (_, predictions)
                                           in zip(members, results)], protocol="kfold", settings={"seed": seed})
        print(f"seed {seed} ensemble: {result_text(ensemble.folds)}", flush=True)
        log_result("ensemble_groupings", ensemble.folds, seed=seed, system="ensemble")
        records.append({"seed": seed, "system": "ensemble", "summary": ensemble.summary,
                        "folds": [{key: fold[key] for key in ("accuracy", "uar", "macro_f1")} for fold in ensemble.folds]})
    if args.limit is None and args.epochs is None:
        OUT.write_text(json.dumps(records, indent=2) + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
