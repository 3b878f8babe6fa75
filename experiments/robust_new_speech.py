"""Labels unchanged under noise on speech the model never heard (results/robust_new_speech.md).

``bench/robustness.py`` corrupts clips every member was trained on. Here each clip is scored
by models that never heard it, as the cards' two protocols do:

* RAVDESS new speakers: the shipped ensemble's out-of-fold label on the clean clip (its
  ``predictions.npz``, 5 folds by actor) against the noise-trained head's label on the
  clip's noisy copy, that head refitted on the other folds plus every other corpus;
* each corpus the CNN never heard, left out: the routed ensemble's label on the clean clip
  (the members' own leave-one-corpus-out probabilities, averaged as the card's figure is)
  against the noise-trained head's label on the copy, that head refitted without the corpus;
  the choice restricted to the labels the corpus shares with the model.

A noisy copy is the training copy of the same kind (``whitenoise20``, ``noise20``,
``telephone``: :mod:`ser_core.audio.augment`), whose features the cache holds. The copies
fall outside the CNN's gate (checked on a sample of each corpus here), so the noise-trained
head decides them alone, as the shipped route does.

Usage::

    nice -n 10 python experiments/robust_new_speech.py --data /work/corpora/all.csv \\
        --out results/robust_new_speech.json
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import corpora_parser, stopwatch_log  # noqa: E402
from recipes import multicorpus as mc  # noqa: E402

GATE_SAMPLE = 40  # clips of each corpus whose noisy copies are decoded to check the route


def restricted_labels(probabilities, label_order, shared) -> np.ndarray:
    """The highest of the ``shared`` labels for each row."""
    columns = [list(label_order).index(label) for label in shared]
    return np.asarray(shared)[np.argmax(probabilities[:, columns], axis=1)]


def unchanged(clean, noisy) -> float:
    return float(np.mean(np.asarray(clean) == np.asarray(noisy)))


def ravdess_new_speakers(evidence, ensemble_folder, copies, log) -> dict:
    """Share of RAVDESS clips whose out-of-fold label survives each copy (and accuracy on the copies)."""
    dataset = evidence.dataset
    kfold = mc.read_predictions(ensemble_folder)["kfold"]
    order = [str(label) for label in kfold["label_order"]]
    clean = np.asarray(order)[np.argmax(kfold["probabilities"], axis=1)]
    rows = mc.cnn_fold_rows(dataset, kfold)
    folds = np.asarray(kfold["fold"])
    others = np.flatnonzero(dataset.corpora != "ravdess")
    noisy = {key: np.empty(len(rows), dtype=object) for key in copies}
    for fold in np.unique(folds):
        estimator = mc.fit_whisper(evidence.dataset, np.concatenate([rows[folds != fold], others]), copies)
        test = rows[folds == fold]
        for key in copies:
            noisy[key][folds == fold] = restricted_labels(
                mc._aligned_probabilities(estimator, dataset.augmented[key][test], order), order, order)
        log(f"RAVDESS fold {fold}: done")
    truth = np.asarray(kfold["labels"]).astype(str)
    return {"clips": int(len(rows)), "clean_accuracy": unchanged(clean, truth),
            "unchanged": {key: unchanged(clean, noisy[key]) for key in copies},
            "noisy_accuracy": {key: unchanged(noisy[key], truth) for key in copies}}


def clean_routed_labels(evidence, choice, name) -> tuple:
    """The routed ensemble's clean labels of corpus ``name`` (as the card's leave-one-corpus-out scores them)."""
    from ser_core.scoring.crosscorpus import shared_labels

    folders = (evidence.folders[mc.CLEAN_WHISPER_MEMBER.name], evidence.folders[mc.WHISPER_MEMBER.name])
    members = mc.unseen_members(evidence, cnn_admits=evidence.inside, whisper=[
        (folder, temperature, admits, 1.0) for folder, temperature, admits in
        zip(folders, choice.temperatures["members"][1:], (evidence.inside, evidence.outside))])
    order, paths, truth = members[0][0], members[0][1], members[0][3]
    corpus_of = dict(zip(evidence.dataset.paths, evidence.dataset.corpora))
    rows = [path for path in paths if corpus_of.get(path) == name]
    labels = [truth[path] for path in rows]
    shared = shared_labels(order, labels)
    keep = np.isin(labels, shared)
    rows = [path for path, kept in zip(rows, keep) if kept]
    return rows, order, shared, restricted_labels(mc._routed_average(members, rows), order, shared)


def unseen_corpus(evidence, choice, name, copies) -> dict:
    """Share of a left-out corpus's clips whose label survives each copy, the noise head refitted without it."""
    dataset = evidence.dataset
    paths, order, shared, clean = clean_routed_labels(evidence, choice, name)
    row_of = {path: row for row, path in enumerate(dataset.paths)}
    test = np.array([row_of[path] for path in paths])
    estimator = mc.fit_whisper(dataset, np.flatnonzero(dataset.corpora != name), copies)
    truth = dataset.labels[test].astype(str)
    noisy = {key: restricted_labels(mc._aligned_probabilities(estimator, dataset.augmented[key][test], order),
                                    order, shared) for key in copies}
    return {"clips": int(len(test)), "shared_labels": list(shared), "clean_accuracy": unchanged(clean, truth),
            "unchanged": {key: unchanged(clean, noisy[key]) for key in copies},
            "noisy_accuracy": {key: unchanged(noisy[key], truth) for key in copies}}


def copies_outside_gate(evidence, copies, log) -> dict:
    """The share of sampled clips' noisy copies the CNN's gate keeps out (they go to the noise-trained head alone)."""
    from ser_core.audio.augment import parse_augmentation
    from ser_core.audio.decode import load_audio
    from ser_core.audio.quality import estimate_quality

    dataset = evidence.dataset
    root = Path(dataset.root) if dataset.root else None
    shares = {}
    for name in dataset.corpus_names:
        rows = np.flatnonzero(dataset.corpora == name)
        rows = rows[np.linspace(0, len(rows) - 1, min(GATE_SAMPLE, len(rows))).round().astype(int)]
        for key in copies:
            augmentation = parse_augmentation(key)
            outside = []
            for row in rows:
                path = Path(dataset.paths[row])
                y = augmentation(load_audio(path if root is None or path.is_absolute() else root / path,
                                            sample_rate=16000), sample_rate=16000)
                outside.append(not evidence.gate.inside(estimate_quality(y, sample_rate=16000).as_array())[0])
            shares.setdefault(name, {})[key] = float(np.mean(outside))
        log(f"gate on copies, {name}: {shares[name]}")
    return shares


def main() -> None:
    from ser_core.data.dataset import load_dataset

    parser = corpora_parser(__doc__)
    args = parser.parse_args()
    log = stopwatch_log()
    artifacts = ROOT / "artifacts"
    copies = mc.WHISPER_COPIES
    manifest = mc.training_manifest(args.data)
    dataset = load_dataset(manifest, feature_kind=mc.WHISPER_MEMBER.config.data.features, augment=copies)
    folders = {member.name: artifacts / member.name for member in mc.SHIPPED_MEMBERS}
    evidence = mc.gather_evidence(dataset, manifest=manifest, cnn_folder=artifacts / mc.CNN_MEMBER, folders=folders)
    choice = mc.routed_choice(evidence, mc.SHIPPED_ROUTE)
    log(f"route C rebuilt: RAVDESS accuracy {choice.kfold.mean('accuracy'):.4f}, "
        f"leave-one-corpus-out UAR {choice.loco.mean('uar'):.4f} (the card: 0.7331, 0.4297)")
    gate = copies_outside_gate(evidence, copies, log)
    ravdess = ravdess_new_speakers(evidence, artifacts / mc.ENSEMBLE_NAME, copies, log)
    log(f"RAVDESS new speakers: {ravdess['unchanged']}")
    unseen = {}
    for name in evidence.unseen:
        unseen[name] = unseen_corpus(evidence, choice, name, copies)
        log(f"{name} left out: {unseen[name]['unchanged']}")
    mean = {key: float(np.mean([unseen[name]["unchanged"][key] for name in unseen])) for key in copies}
    command = f"python experiments/robust_new_speech.py --data {args.data} --out {args.out}"
    args.out.write_text(json.dumps({
        "experiment": "labels unchanged on speech the model never heard (results/robust_new_speech.md)",
        "command": command, "copies": list(copies), "copies_outside_gate": gate,
        "ravdess_new_speakers": ravdess, "left_out": unseen, "left_out_mean_unchanged": mean}, indent=1) + "\n")
    log(f"mean over the corpora left out: {mean}; wrote {args.out}")


if __name__ == "__main__":
    main()
