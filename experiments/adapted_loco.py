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
the card's single-clip leave-one-corpus-out.

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


def adapted_head(dataset, corpus):
    """The clean head's recipe fitted with speakers without ``corpus`` (both its heads)."""
    from ser_core.data.splits import speaker_keys
    from ser_core.training.train import balance_weights

    rows = np.flatnonzero(dataset.corpora != corpus)
    speakers = speaker_keys(dataset.speakers, dataset.corpora)
    return mc.CLEAN_WHISPER_MEMBER.config.make_estimator().fit(
        dataset.X[rows], dataset.labels[rows], speakers=speakers[rows],
        sample_weight=balance_weights(dataset.labels[rows], dataset.corpora[rows]))


def evenly_spaced(rows, n):
    """``n`` of ``rows``, evenly spaced from the first to the last."""
    return rows[np.linspace(0, len(rows) - 1, min(n, len(rows))).round().astype(int)]


def adapted_probabilities(dataset, estimator, corpus, label_order, temperature, enrolment=None) -> dict:
    """Each clip's speaker-adapted probabilities (columns in ``label_order``) by path, one speaker at a time.

    ``enrolment``: the statistics come from that many of the speaker's clips (evenly spaced in
    file order), or from all of them (None).
    """
    from ser_core.data.splits import speaker_keys
    from ser_core.scoring.temperature import apply_temperature
    from ser_core.serving.speakers import DEFAULT_PRIOR_CLIPS

    speakers = speaker_keys(dataset.speakers, dataset.corpora)
    classes = [str(label) for label in estimator.classes_]
    columns = [classes.index(label) for label in label_order]
    out = {}
    for speaker in np.unique(speakers[dataset.corpora == corpus]):
        rows = np.flatnonzero(speakers == speaker)
        enrolled = rows if enrolment is None else evenly_spaced(rows[np.argsort(np.asarray(dataset.paths)[rows])],
                                                                 enrolment)
        stats = estimator.speaker_stats(dataset.X[enrolled], prior_clips=DEFAULT_PRIOR_CLIPS)
        probabilities = apply_temperature(estimator.predict_proba_for_speaker(dataset.X[rows], stats)[:, columns],
                                          temperature)
        out.update(zip(np.asarray(dataset.paths)[rows], probabilities))
    return out


def scored(evidence, choice, corpus, adapted, outside_adapted) -> dict:
    """UAR and accuracy on ``corpus`` of the routed ensemble with the adapted head (``outside_adapted``: everywhere)."""
    from ser_core.scoring.crosscorpus import score_shared

    inside = evidence.inside
    outside = {path: not value for path, value in inside.items()}
    root = Path(evidence.manifest).parent
    noisy = mc._loco_member(evidence.folders[mc.WHISPER_MEMBER.name], choice.temperatures["members"][2], root)
    order, paths, truth = noisy[0], noisy[1], noisy[3]
    cnn, cnn_by_path = evidence.cnn_probabilities()
    columns = [cnn.labels.index(label) for label in order]
    members = [(order, paths, {path: cnn_by_path[path][columns] for path in paths if path in cnn_by_path}, truth,
                inside, 1.0),
               (order, paths, adapted, truth, None if outside_adapted else inside, 1.0)]
    if not outside_adapted:
        members.append(noisy + (outside, 1.0))
    corpus_of = dict(zip(evidence.dataset.paths, evidence.dataset.corpora))
    rows = [path for path in paths if corpus_of.get(path) == corpus]
    result = score_shared(mc._routed_average(members, rows), model_labels=order, y_true=[truth[path] for path in rows])
    return {"uar": float(result.metrics["uar"]), "accuracy": float(result.metrics["accuracy"]),
            "clips": int(result.kept.sum()), "inside_gate": float(np.mean([inside[path] for path in rows]))}


def main() -> None:
    from ser_core.data.dataset import load_dataset
    from ser_core.modelfolder.read import read_config

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
    temperature = float(read_config(folders[mc.CLEAN_WHISPER_MEMBER.name])["calibration"]["temperature_adapted"])
    order = [str(label) for label in mc.read_predictions(folders[mc.WHISPER_MEMBER.name])["loco"]["label_order"]]
    rows = {}
    for corpus in evidence.unseen:
        estimator = adapted_head(dataset, corpus)
        rows[corpus] = {"single_clip_uar": single[corpus]}
        for name, enrolment in ENROLMENTS.items():
            adapted = adapted_probabilities(dataset, estimator, corpus, order, temperature, enrolment)
            rows[corpus][name] = {"inside_only": scored(evidence, choice, corpus, adapted, False),
                                  "every_clip": scored(evidence, choice, corpus, adapted, True)}
            inside, every = rows[corpus][name]["inside_only"], rows[corpus][name]["every_clip"]
            log(f"{corpus}, {name}: single clip {single[corpus]:.4f}, adapted inside only {inside['uar']:.4f}, "
                f"every clip {every['uar']:.4f} ({every['inside_gate']:.1%} of its clips inside the CNN's gate)")
    means = {"single_clip_uar": float(np.mean([row["single_clip_uar"] for row in rows.values()])),
             **{f"{name}, {route}": float(np.mean([row[name][route]["uar"] for row in rows.values()]))
                for name in ENROLMENTS for route in ("inside_only", "every_clip")}}
    args.out.write_text(json.dumps({
        "experiment": "\"Adapt to a voice\" on speech the default never heard (results/adapted_loco.md)",
        "command": f"python experiments/adapted_loco.py --data {args.data} --out {args.out}",
        "left_out": rows, "mean_uar": means}, indent=1) + "\n")
    log(f"mean UAR: {means}; wrote {args.out}")


if __name__ == "__main__":
    main()
