"""The fifth rule (results/shared_route.md): does the noise-trained head join the clean route?

The evidence is gathered exactly as ``python -m ser_core build-default`` gathers it (the shipped
members reused from ``artifacts/``), then each route of :data:`recipes.multicorpus.ROUTES` is
scored: RAVDESS new speakers (the CNN's folds, cross-fitted temperatures), leave-one-corpus-out
over the corpora the CNN never heard, and ``bench/robustness.py``'s five target conditions on
its choice set (120 RAVDESS clips) and its report set (120 clips of six corpora), each candidate
saved as a model folder under ``--scratch``. The rule is applied as written and its verdict
printed; ``--out`` keeps every figure.

Usage::

    nice -n 10 python experiments/shared_route.py --data /work/corpora/all.csv --out results/shared_route.json
    nice -n 10 python experiments/shared_route.py --data /work/corpora/all.csv --routes C F \
        --out results/shared_route_f.json
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import robustness  # noqa: E402

from recipes import multicorpus as mc  # noqa: E402
from recipes.default import _member_folder  # noqa: E402

ELIGIBLE_SLACK = 0.005  # (1) and (2) at most half a point below the shipped route
REQUIRED_GAIN = 0.02  # (3) at least two points above it
TIE_BREAK = "E2"  # the first rule's tie: the candidate that changes the CNN's share least


def unchanged(model, clips) -> dict:
    """Share of labels unchanged under each of the bench's five target conditions, and their mean."""
    conditions = {name: robustness.CONDITIONS[name] for name in ("clean", *robustness.TARGET_90)}
    results = robustness.run(model, clips, conditions=conditions)
    shares = {name: results[name]["unchanged"] for name in robustness.TARGET_90}
    return {**shares, "mean": float(np.mean(list(shares.values())))}


def score(route, choice, model, clip_sets) -> dict:
    """One candidate's figures: the two the recipe measures and the bench's two sets."""
    return {"route": route, "shares": mc.ROUTES[route],
            "ravdess_accuracy": choice.kfold.mean("accuracy"), "ravdess_uar": choice.kfold.mean("uar"),
            "loco_uar": choice.loco.mean("uar"),
            "loco_per_corpus": {fold["test_corpus"]: fold["uar"] for fold in choice.loco.folds},
            **{f"unchanged_{name}": unchanged(model, clips) for name, clips in clip_sets.items()}}


def verdict(rows) -> tuple[str, str]:
    """The rule: the eligible candidate with the highest choice-set share, adopted if it gains two points."""
    shipped = rows["C"]
    eligible = [route for route, row in rows.items() if route != "C"
                and row["ravdess_accuracy"] >= shipped["ravdess_accuracy"] - ELIGIBLE_SLACK
                and row["loco_uar"] >= shipped["loco_uar"] - ELIGIBLE_SLACK]
    if not eligible:
        return "C", "no candidate is eligible: the shipped route stays"
    best = max(eligible, key=lambda route: (rows[route]["unchanged_choice"]["mean"], route == TIE_BREAK))
    gain = rows[best]["unchanged_choice"]["mean"] - shipped["unchanged_choice"]["mean"]
    if gain >= REQUIRED_GAIN:
        return best, f"{best} gains {gain:+.1%} of unchanged labels on the choice set: adopted"
    return "C", (f"{best} gains {gain:+.1%} of unchanged labels on the choice set, under 2 points: "
                 "the shipped route stays")


def main() -> None:
    from ser_core.data.dataset import load_dataset
    from ser_core.modelfolder.read import artifacts_root, load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the corpora's manifest (recipes.corpora.prepare)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scratch", type=Path, default=None,
                        help="where candidates are saved (default: a temp folder)")
    parser.add_argument("--routes", nargs="+", choices=list(mc.ROUTES), default=["C", "E1", "E2"],
                        help="C (shipped) and the candidates to score (the first rule: E1 E2; the second: F)")
    args = parser.parse_args()
    root = artifacts_root()
    manifest = mc.training_manifest(args.data)
    corpora = mc.corpora_phrase(manifest)
    folders = {member.name: _member_folder(mc.with_corpora(member, corpora), data=manifest, root=root, reuse=True,
                                           log=print, command="python -m ser_core build-default")
               for member in (mc.WHISPER_MEMBER, mc.CLEAN_WHISPER_MEMBER)}
    dataset = load_dataset(manifest, feature_kind=mc.WHISPER_MEMBER.config.data.features, augment=mc.WHISPER_COPIES)
    evidence = mc.gather_evidence(dataset, manifest=manifest, cnn_folder=root / mc.CNN_MEMBER, folders=folders)
    print("evidence gathered", flush=True)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="shared-route-"))
    rows, clip_sets = {}, None
    for route in dict.fromkeys(["C", *args.routes]):
        choice = mc.routed_choice(evidence, route)
        folder = mc.save_choice(choice, scratch / route / mc.ENSEMBLE_NAME, dataset=dataset, data=args.data,
                                whisper_folder=folders[mc.WHISPER_MEMBER.name], corpora=corpora,
                                command="experiments/shared_route.py")
        model = load_model(folder)
        clip_sets = clip_sets or {"choice": robustness.pick_clips(data=robustness.DATA, n=120, labels=model.labels),
                                  "report": robustness.pick_clips(manifest=args.data, n=120, labels=model.labels)}
        rows[route] = score(route, choice, model, clip_sets)
        print(json.dumps(rows[route]), flush=True)
    chosen, reason = verdict(rows)
    print(f"rule: {reason}")
    args.out.write_text(json.dumps({"experiment": "the fifth rule (results/shared_route.md)",
                                    "command": f"python experiments/shared_route.py --data {args.data} --routes "
                                    + " ".join(rows) + f" --out {args.out}", "candidates": rows, "chosen": chosen,
                                    "verdict": reason}, indent=1) + "\n")


if __name__ == "__main__":
    main()
