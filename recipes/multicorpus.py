"""The shipped default since round three: the RAVDESS log-mel CNN and two Whisper heads of six corpora, routed by recording quality.

``python -m ser_core build-default --data /work/corpora/all.csv`` runs :func:`build_default`
on the corpora ``python -m recipes.corpora.prepare`` lays out (RAVDESS actors 01-20, TESS,
SAVEE, TurEV-DB, nEMO, ASED). The choice followed the rule written before the numbers in
``results/multicorpus.md``: the Whisper candidate (encoder layer 3, C = 0.03) won nested
leave-one-corpus-out among 14 candidates, and the CNN joined it because the average raised
the new-speaker RAVDESS figure without lowering leave-one-corpus-out over TESS, SAVEE and
TurEV-DB (``experiments/multicorpus_ensemble.py``). Since the robustness round
(``results/robust_default.md``, three more rules written first) the ensemble is routed by
recording quality (:mod:`ser_core.audio.quality`): clean wide-band recordings go to the CNN
and a clean-trained Whisper head, noisy or narrow-band ones to a Whisper head trained also on
noisy copies. A fourth rule (``results/more_corpora.md``) trained the heads on six corpora
instead of the four the first three rules chose on.

Members:

* ``logmel-cnn``: the 2-D CNN on log-mel spectrograms, trained on RAVDESS actors 01-20
  (:mod:`recipes.default`, reused as it is), for recordings inside its gate (the 1st
  percentile of its training clips' estimated SNR and high-band level);
* ``whisper-multicorpus-clean``: Whisper-base encoder layer 3, mean and std over time,
  standardised logistic regression (C = 0.03) with each corpus and each class within it
  weighted alike, plus a speaker-adapted head; trained on every clip of the corpora
  except the speakers of :data:`EXAMPLE_SPEAKERS`, whose clips ship in ``examples/`` so that
  the dashboard's examples are voices no member heard; inside the gate;
* ``whisper-multicorpus``: the same, trained also on copies of every clip in white and pink
  noise at 20 dB SNR and through a telephone band; for recordings outside the gate.

The ensemble's figures:

* new speakers: RAVDESS 5-fold by actor on the CNN's own folds (the cards'
  ``grouped_kfold(seed=42)``), each Whisper head refitted on the other folds plus every other
  corpus (and their noisy copies), each clip averaged by the members its gate routes it to, combined as :mod:`ser_core.training.ensemble` combines members (cross-fitted
  temperatures);
* speech it was not trained on: every corpus but RAVDESS left out in turn, the Whisper heads
  trained on the others, the CNN as shipped (it never heard them), routed the
  same way. RAVDESS left out cannot be scored for the ensemble (the CNN was trained on it);
  each Whisper head's own leave-one-corpus-out over all the corpora is in its folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recipes.default import Member, _member_folder, combine, read_predictions
from ser_core.errors import ArtifactError, InputError
from ser_core.training.config import DataSettings, FitSettings, ProtocolSettings, TrainConfig

#: Speakers held out of every member so that their clips (``examples/``) are unseen voices.
EXAMPLE_SPEAKERS = ("turev:6783",)
CNN_MEMBER = "logmel-cnn"
#: The noisy copies the Whisper member also trains on (step 1 of results/robust_default.md chose A1).
WHISPER_COPIES = ("whitenoise20", "noise20", "telephone")
#: Copies played 0.9 and 1.1 times as fast: the seventh rule's candidate (results/speed_copies.md) for both heads.
SPEED_COPIES = ("speed0.9", "speed1.1")
_HEAD = ("Whisper-base encoder layer 3 (mean and std over time) -> standardised logistic regression (C=0.03), "
         "corpora and classes weighted alike, ")
_COPY_PHRASES = {WHISPER_COPIES: "in white and pink noise at 20 dB SNR and through a telephone band",
                 SPEED_COPIES: "played 0.9 and 1.1 times as fast"}


def whisper_members(extra_copies: tuple = ()) -> tuple[Member, Member]:
    """The noise-trained and the clean Whisper heads, each also trained on ``extra_copies`` (:data:`SPEED_COPIES`)."""
    def member(name, copies, trained_on):
        config = TrainConfig(model="adaptive_linear", data=DataSettings(features="WHISPER-BASE-L3", augment=copies),
                             protocol=ProtocolSettings("loco"), fit=FitSettings(params={"C": 0.03}, balance=True))
        return Member(name, config, 1.0, f"{_HEAD}trained on {trained_on}; plus a speaker-adapted head")

    def made(copy_sets):
        return " and ".join(_COPY_PHRASES.get(keys, f"made by {', '.join(keys)}") for keys in copy_sets if keys)

    extra = tuple(extra_copies)
    noisy = member("whisper-multicorpus", WHISPER_COPIES + extra,
                   f"{{corpora}} with copies of every clip {made((WHISPER_COPIES, extra))}")
    clean = member("whisper-multicorpus-clean", extra,
                   "the clean clips of {corpora}" + (f" and their copies {made((extra,))}" if extra else ""))
    return noisy, clean


#: The heads the default ships: the noise-trained one (steps 1-3 of results/robust_default.md) and the clean one.
WHISPER_MEMBER, CLEAN_WHISPER_MEMBER = SHIPPED_MEMBERS = whisper_members()
#: The selection rule, as the card states it (written before the numbers: results/multicorpus.md).
SELECTION = ("by rules written before the numbers. The Whisper candidate (encoder layer 3, C = 0.03) won nested "
             "leave-one-corpus-out among 14 over RAVDESS, TESS, SAVEE and TurEV-DB (results/multicorpus.md). Its noisy "
             "copies (white and pink noise at 20 dB SNR, telephone band) won among four sets by the share of held-out "
             "corpora's labels unchanged under those corruptions, giving up at most one point of clean "
             "leave-one-corpus-out UAR (results/robust_default.md). The RAVDESS CNN joined because the average raised "
             "the RAVDESS new-speaker figure, and it serves only recordings as clean and wide-band as its training "
             "clips (the 1st percentile of their estimated SNR and high-band level), a gate adopted because it cost at "
             "most half a point of that figure. Nothing was tuned on the held-back corpora.")
#: Step 2 of results/robust_default.md: the CNN's gate is the 1st percentile of its training clips' estimates,
#: adopted unless it lowers the RAVDESS new-speaker accuracy by more than half a point.
GATE_PERCENTILE, GATE_SLACK = 1.0, 0.005
#: Step 3: routing replaces the step-2 ensemble if it gains at least half a point of RAVDESS new-speaker
#: accuracy and loses at most half a point of leave-one-corpus-out UAR.
ROUTING_GAIN, ROUTING_SLACK = 0.005, 0.005
#: Each route: ``(weight, serves)`` of the CNN, the clean head and the noise-trained head, where
#: ``serves`` is "inside" the CNN's gate, "outside" it, or "all". "C" is step 3 of
#: results/robust_default.md; "E1", "E2" (the noise-trained head also inside) and "F" (the clean
#: head also outside) are the candidates of results/shared_route.md.
ROUTES = {"C": ((1.0, "inside"), (1.0, "inside"), (1.0, "outside")),
          "E1": ((1.0, "inside"), (1.0, "inside"), (1.0, "all")),
          "E2": ((2.0, "inside"), (1.0, "inside"), (1.0, "all")),
          "F": ((1.0, "inside"), (1.0, "all"), (1.0, "outside"))}
#: The route the rules of results/shared_route.md chose (experiments/shared_route.py).
SHIPPED_ROUTE = "C"
ROUTED_SELECTION = ("A third rule, also written first, routes by the same gate: clean wide-band recordings to the CNN "
                    "and a Whisper head trained on clean clips, the others to the noise-trained head alone, adopted "
                    "because it gained at least half a point of RAVDESS new-speaker accuracy for at most half a point "
                    "of leave-one-corpus-out UAR.")
#: The corpora the first three rules chose on; a manifest holding more follows results/more_corpora.md.
FIRST_CORPORA = frozenset({"ravdess", "tess", "savee", "turev"})
MORE_CORPORA_SELECTION = ("A fourth rule, also written first (results/more_corpora.md), trained both Whisper heads on six "
                          "corpora instead of four (adding nEMO, Polish, and ASED, Amharic), adopted because it raised "
                          "leave-one-corpus-out UAR over TESS, SAVEE and TurEV-DB by at least a point (35.5% to 41.1%) "
                          "for at most half a point of RAVDESS new-speaker accuracy (73.3% both).")
ENSEMBLE_NAME = "multicorpus-ensemble"
ENSEMBLE_DESCRIPTION = ("Ensemble of a 2-D CNN on log-mel spectrograms (RAVDESS) and Whisper-base encoder states "
                        "with a logistic regression trained on {corpora}; "
                        "calibrated probabilities, averaged with equal weights")
ROUTED_DESCRIPTION = ("Ensemble routed by recording quality: clean wide-band recordings to a 2-D CNN on log-mel "
                      "spectrograms (RAVDESS) and a Whisper-base head trained on {corpora}, "
                      "noisy or narrow-band recordings to a Whisper-base head also trained on noisy copies; "
                      "calibrated probabilities averaged with equal weights")
#: The ensemble's description for each route of :data:`ROUTES`.
ROUTE_DESCRIPTIONS = {
    "C": ROUTED_DESCRIPTION,
    **{name: ("Ensemble routed by recording quality: clean wide-band recordings to a 2-D CNN on log-mel spectrograms "
              "(RAVDESS) and two Whisper-base heads trained on {corpora}, one of them also on noisy copies; noisy "
              "or narrow-band recordings to that noise-trained head alone; calibrated probabilities, weighted "
              "averages") for name in ("E1", "E2")},
    "F": ("Ensemble routed by recording quality: clean wide-band recordings to a 2-D CNN on log-mel spectrograms "
          "(RAVDESS) and a Whisper-base head trained on {corpora}, noisy or narrow-band recordings to that head and "
          "one also trained on noisy copies; calibrated probabilities averaged with equal weights"),
}
#: The card's sentence for a route the rules of results/shared_route.md adopted.
ROUTE_SELECTIONS = {
    **{name: ("A fifth rule, also written first (results/shared_route.md), let the noise-trained head serve clean "
              "recordings too, adopted because it kept RAVDESS new-speaker accuracy and leave-one-corpus-out UAR "
              "within half a point and raised the share of labels unchanged under 20 dB noise and narrow bands by "
              "at least two points.") for name in ("E1", "E2")},
    "F": ("A fifth rule, also written first (results/shared_route.md), let the clean Whisper head serve noisy and "
          "narrow-band recordings too, beside the noise-trained head, adopted because it kept RAVDESS new-speaker "
          "accuracy and leave-one-corpus-out UAR within half a point and raised the share of labels unchanged under "
          "20 dB noise and narrow bands by at least two points."),
}


def training_manifest(manifest) -> Path:
    """A copy of ``manifest`` without :data:`EXAMPLE_SPEAKERS`, beside it (its relative paths stay valid)."""
    import pandas as pd

    manifest = Path(manifest)
    if manifest.suffix.lower() != ".csv" or not manifest.is_file():
        raise InputError(f"the default trains on a manifest of several corpora (e.g. /work/corpora/all.csv, laid out "
                         f"by python -m recipes.corpora.prepare); received {manifest}")
    table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    if "corpus" not in table or table["corpus"].nunique() < 2:
        raise InputError(f"{manifest} names fewer than two corpora (column 'corpus'); the default needs several")
    out = manifest.with_name(f"{manifest.stem}-without-examples.csv")
    table[~table["speaker"].isin(EXAMPLE_SPEAKERS)].to_csv(out, index=False)
    return out


_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def _catalogue() -> dict:
    """The corpora's entries in ``recipes/corpora/corpora.json`` (sources, licences, languages), by key."""
    import json

    return json.loads((Path(__file__).parent / "corpora" / "corpora.json").read_text())["corpora"]


def corpora_phrase(manifest) -> str:
    """The corpora a manifest holds, in words for a card: e.g. ``four corpora (RAVDESS 01-20, TESS, SAVEE, TurEV-DB)``."""
    import pandas as pd

    names = sorted(pd.read_csv(manifest, dtype=str, keep_default_na=False, usecols=["corpus"])["corpus"].unique())
    catalogue = _catalogue()
    short = {"ravdess": "RAVDESS 01-20", "turev": "TurEV-DB"}
    titles = [short.get(name) or catalogue.get(name, {}).get("name", name).split(" (")[0] for name in names]
    if len(names) == 1:
        return f"one corpus ({titles[0]})"
    return f"{_COUNTS.get(len(names), len(names))} corpora ({', '.join(titles)})"


def with_corpora(member: Member, corpora: str) -> Member:
    """``member`` with ``corpora`` (:func:`corpora_phrase`) written into its description."""
    from dataclasses import replace

    return replace(member, description=member.description.format(corpora=corpora))


def _aligned_probabilities(estimator, X, label_order):
    """An estimator's probabilities with columns in ``label_order``."""
    classes = [str(label) for label in estimator.classes_]
    return estimator.predict_proba(X)[:, [classes.index(label) for label in label_order]]


def fit_whisper(dataset, rows, copies=WHISPER_COPIES, params=None):
    """The Whisper member's estimator fitted on ``rows`` of ``dataset`` and their ``copies``, weighted as the member is.

    ``dataset`` holds the copies' features (``load_dataset(..., augment=copies)``); ``params``
    change the estimator's settings (a rule's candidate, e.g. ``{"copy_dims": 16}``).
    """
    from ser_core.data.splits import speaker_keys
    from ser_core.training.train import balance_weights

    extra = {}
    if copies:
        extra = {"X_augmented": np.concatenate([dataset.augmented[key][rows] for key in copies]),
                 "y_augmented": np.concatenate([dataset.labels[rows]] * len(copies))}
    estimator = WHISPER_MEMBER.config.make_estimator().set_params(**(params or {}))
    if estimator.get_params().get("nuisance_dims"):  # the speakers' directions to project out
        extra["speakers"] = speaker_keys(dataset.speakers, dataset.corpora)[rows]
    return estimator.fit(dataset.X[rows], dataset.labels[rows],
                         sample_weight=balance_weights(dataset.labels[rows], dataset.corpora[rows]), **extra)


def cnn_fold_rows(dataset, cnn_kfold) -> np.ndarray:
    """The ``dataset`` row of each clip of the CNN's RAVDESS folds (matched by file name), in the folds' order."""
    by_name = {Path(path).name: row for row, path in enumerate(dataset.paths) if dataset.corpora[row] == "ravdess"}
    missing = [path for path in cnn_kfold["paths"] if Path(path).name not in by_name]
    if missing:
        raise ArtifactError(f"{len(missing)} clips of the CNN's folds are not in the corpora (first: {missing[0]})")
    return np.array([by_name[Path(path).name] for path in cnn_kfold["paths"]])


def whisper_on_cnn_folds(dataset, cnn_kfold, copies=WHISPER_COPIES):
    """A Whisper head's out-of-fold probabilities on RAVDESS, on the CNN's folds, trained with every other corpus."""
    rows = cnn_fold_rows(dataset, cnn_kfold)
    folds = np.asarray(cnn_kfold["fold"])
    probabilities = np.zeros((len(rows), len(cnn_kfold["label_order"])))
    others = np.flatnonzero(dataset.corpora != "ravdess")
    for fold in np.unique(folds):
        train = np.concatenate([rows[folds != fold], others])
        estimator = fit_whisper(dataset, train, copies)
        probabilities[folds == fold] = _aligned_probabilities(estimator, dataset.X[rows[folds == fold]],
                                                              cnn_kfold["label_order"])
    return {**cnn_kfold, "probabilities": probabilities}


def _cnn_probabilities(cnn_folder, manifest, corpora):
    """The shipped CNN's served (temperature-scaled) probabilities on every clip of ``corpora`` in ``manifest``."""
    from ser_core.data.dataset import load_dataset
    from ser_core.modelfolder.read import load_model

    cnn = load_model(cnn_folder)
    dataset = load_dataset(manifest, feature_kind=cnn.spec.name, settings=cnn.settings)
    keep = np.isin(dataset.corpora, corpora)
    return cnn, dict(zip(np.asarray(dataset.paths)[keep], cnn.predict_proba(dataset.X[keep])))


def clip_qualities(dataset) -> dict:
    """Each clip's recording-quality estimates (:mod:`ser_core.audio.quality`) by path, decoded two at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from ser_core.audio.quality import corpus_qualities

    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = corpus_qualities(dataset.paths, sample_rate=16000, root=dataset.root or None, map_=pool.map)
    return dict(zip(dataset.paths, rows))


def cnn_domain(dataset, qualities):
    """The CNN's domain gate: the 1st percentile of each estimate over its training clips (RAVDESS 01-20)."""
    from ser_core.audio.quality import gate_from_clips

    ravdess = [path for path, corpus in zip(dataset.paths, dataset.corpora) if corpus == "ravdess"]
    return gate_from_clips(np.stack([qualities[path] for path in ravdess]), percentile=GATE_PERCENTILE)


def gated_kfold(cnn_kfold, whisper_kfold, admitted, settings, log=print):
    """Step 2 of the rule: the gated combination when it costs at most GATE_SLACK accuracy, else the plain one.

    Returns ``(adopted, (result, predictions, temperatures))``.
    """
    plain = combine_members([cnn_kfold, whisper_kfold], settings)
    gated = combine_members([{**cnn_kfold, "admitted": admitted}, whisper_kfold], settings)
    accuracy = {name: result[0].mean("accuracy") for name, result in (("plain", plain), ("gated", gated))}
    adopted = accuracy["gated"] >= accuracy["plain"] - GATE_SLACK
    log(f"CNN domain gate: RAVDESS new-speaker accuracy {accuracy['gated']:.4f} gated vs {accuracy['plain']:.4f} "
        f"plain; CNN kept for {admitted.mean():.1%} of the clips; gate {'adopted' if adopted else 'not adopted'}")
    return adopted, gated if adopted else plain


def combine_members(predictions, settings):
    """The members' k-fold predictions combined with equal weights (:func:`recipes.default.combine`)."""
    return combine(predictions, [1.0] * len(predictions), protocol="kfold", settings=settings)


def unseen_corpora(evidence, *, whisper, cnn_admits=None, cnn_weight=1.0):
    """Leave-one-corpus-out of the ensemble over the corpora the CNN never heard (a ``loco`` ProtocolResult).

    ``whisper``: ``[(member folder, temperature, admits, weight)]`` for each Whisper member, whose
    own leave-one-corpus-out predictions are used; ``admits`` (and ``cnn_admits``) map a clip's
    path to whether the member's gate admits it (None: every clip).
    """
    from ser_core.modelfolder.results import ProtocolResult
    from ser_core.scoring.crosscorpus import score_shared
    from ser_core.scoring.metrics import summarize_folds

    dataset = evidence.dataset
    corpora = evidence.unseen
    members = unseen_members(evidence, whisper=whisper, cnn_admits=cnn_admits, cnn_weight=cnn_weight)
    order, paths, truth = members[0][0], members[0][1], members[0][3]
    corpus_of = dict(zip(dataset.paths, dataset.corpora))
    folds = []
    for name in corpora:
        rows = [path for path in paths if corpus_of.get(path) == name]
        shared = score_shared(_routed_average(members, rows), model_labels=order, y_true=[truth[path] for path in rows])
        folds.append({**shared.metrics, "test_corpus": name, "n_test_clips": int(shared.kept.sum())})
    return ProtocolResult(protocol="loco", folds=folds, summary=summarize_folds(folds),
                          settings={"corpora": corpora,
                                    "note": "RAVDESS left out cannot be scored: the CNN member was trained on it"})


def unseen_members(evidence, *, whisper, cnn_admits=None, cnn_weight=1.0) -> list:
    """The members' leave-one-corpus-out probabilities on the unseen corpora, as :func:`_routed_average` takes them.

    ``(label order, paths, probabilities by path, truth by path, admits, weight)`` for each of
    ``whisper`` (as :func:`unseen_corpora` takes it), then the CNN (its served probabilities).
    """
    members = [_loco_member(folder, temperature, Path(evidence.manifest).parent) + (admits, weight)
               for folder, temperature, admits, weight in whisper]
    order, paths, truth = members[0][0], members[0][1], members[0][3]
    cnn, cnn_by_path = evidence.cnn_probabilities()
    columns = [cnn.labels.index(label) for label in order]
    return members + [(order, paths, {path: cnn_by_path[path][columns] for path in paths if path in cnn_by_path},
                       truth, cnn_admits, cnn_weight)]


def _loco_member(folder, temperature, root):
    """``(label order, paths, probabilities by path, true label by path)`` of a member's leave-one-corpus-out."""
    from ser_core.scoring.temperature import apply_temperature

    loco = read_predictions(folder)["loco"]
    paths = [str(root / path) if not Path(path).is_absolute() else path for path in loco["paths"]]
    probabilities = apply_temperature(np.asarray(loco["probabilities"], dtype=np.float64), temperature)
    return ([str(label) for label in loco["label_order"]], paths, dict(zip(paths, probabilities)),
            dict(zip(paths, np.asarray(loco["labels"]).astype(str))))


def _routed_average(members, rows):
    """The members' probabilities of clips ``rows``, weighted, averaged over the members whose gate admits each clip.

    ``members``: ``(label order, paths, probabilities by path, truth by path, admits, weight)``.
    """
    weights = np.array([[1.0 if admits is None or admits[path] else 0.0 for path in rows]
                        for _, _, _, _, admits, _ in members])
    weights[:, weights.sum(axis=0) == 0] = 1.0
    weights *= np.array([weight for *_, weight in members])[:, None]
    stacked = np.stack([np.stack([probabilities[path] for path in rows]) for _, _, probabilities, _, _, _ in members])
    return np.einsum("mc,mcl->cl", weights / weights.sum(axis=0), stacked)


def _adapted_head(dataset, corpus, member=CLEAN_WHISPER_MEMBER):
    """``member``'s recipe fitted with speakers (both its heads) on the clean clips of every corpus but ``corpus``."""
    from ser_core.data.splits import speaker_keys
    from ser_core.training.train import balance_weights

    rows = np.flatnonzero(dataset.corpora != corpus)
    speakers = speaker_keys(dataset.speakers, dataset.corpora)
    return member.config.make_estimator().fit(
        dataset.X[rows], dataset.labels[rows], speakers=speakers[rows],
        sample_weight=balance_weights(dataset.labels[rows], dataset.corpora[rows]))


def _evenly_spaced(rows, n):
    """``n`` of ``rows``, evenly spaced from the first to the last."""
    return rows[np.linspace(0, len(rows) - 1, min(n, len(rows))).round().astype(int)]


def adapted_probabilities(dataset, estimator, corpus, label_order, temperature, enrolment=None) -> dict:
    """Each clip of ``corpus`` adapted to its speaker: probabilities (columns in ``label_order``) by path.

    A speaker's statistics come from ``enrolment`` of their clips (evenly spaced in file order)
    or from all of them (None), shrunk toward the training population as the app shrinks them.
    """
    from ser_core.data.splits import speaker_keys
    from ser_core.scoring.temperature import apply_temperature
    from ser_core.serving.speakers import DEFAULT_PRIOR_CLIPS

    speakers = speaker_keys(dataset.speakers, dataset.corpora)
    classes = [str(label) for label in estimator.classes_]
    columns = [classes.index(label) for label in label_order]
    paths = np.asarray(dataset.paths)
    out = {}
    for speaker in np.unique(speakers[dataset.corpora == corpus]):
        rows = np.flatnonzero(speakers == speaker)
        enrolled = rows if enrolment is None else _evenly_spaced(rows[np.argsort(paths[rows])], enrolment)
        stats = estimator.speaker_stats(dataset.X[enrolled], prior_clips=DEFAULT_PRIOR_CLIPS)
        probabilities = estimator.predict_proba_for_speaker(dataset.X[rows], stats)[:, columns]
        out.update(zip(paths[rows], apply_temperature(probabilities, temperature)))
    return out


def adapted_unseen_corpora(evidence, temperatures, *, enrolment=None, adapted_outside=True, log=print):
    """Leave-one-corpus-out of the routed ensemble adapted to each voice: a ``loco_speaker_adapted`` ProtocolResult.

    Each corpus the CNN never heard is left out in turn and classified as Predict's "Adapt to a
    voice" classifies it (:func:`adapted_probabilities`, the clean head's recipe trained with
    speakers without the corpus): inside the CNN's gate the CNN and the adapted head, outside it
    the adapted head alone (the noise-trained head's speaker-adapted head is the same head: same
    clean clips, same settings). ``adapted_outside=False``: outside the gate the noise-trained
    head's single-clip head, as the ensemble served before results/adapted_loco.md's fix.
    ``temperatures``: the routed choice's member temperatures (CNN, clean head, noise-trained head).
    """
    from ser_core.modelfolder.read import read_config
    from ser_core.modelfolder.results import ProtocolResult
    from ser_core.scoring.crosscorpus import score_shared
    from ser_core.scoring.metrics import summarize_folds

    dataset, inside = evidence.dataset, evidence.inside
    clean_folder = evidence.folders[CLEAN_WHISPER_MEMBER.name]
    adapted_temperature = float(read_config(clean_folder)["calibration"]["temperature_adapted"])
    noisy, cnn_member = unseen_members(evidence, whisper=[(evidence.folders[WHISPER_MEMBER.name], temperatures[2],
                                                           evidence.outside, 1.0)], cnn_admits=inside)
    order, paths, truth = noisy[0], noisy[1], noisy[3]
    corpus_of = dict(zip(dataset.paths, dataset.corpora))
    folds = []
    for name in evidence.unseen:
        adapted = adapted_probabilities(dataset, _adapted_head(dataset, name, evidence.members[1]), name, order,
                                        adapted_temperature, enrolment)
        members = [cnn_member, (order, paths, adapted, truth, None if adapted_outside else inside, 1.0)]
        members += [] if adapted_outside else [noisy]
        rows = [path for path in paths if corpus_of.get(path) == name]
        shared = score_shared(_routed_average(members, rows), model_labels=order, y_true=[truth[path] for path in rows])
        folds.append({**shared.metrics, "test_corpus": name, "n_test_clips": int(shared.kept.sum())})
        log(f"  adapted to each voice, {name} left out: UAR {shared.metrics['uar']:.4f}")
    enrolled = "all of each speaker's clips" if enrolment is None else f"{enrolment} of each speaker's clips"
    return ProtocolResult(protocol="loco_speaker_adapted", folds=folds, summary=summarize_folds(folds),
                          settings={"corpora": list(evidence.unseen), "enrolment": enrolled,
                                    "note": "RAVDESS left out cannot be scored: the CNN member was trained on it"})


def _training_record(whisper_folder, data, members, selection) -> dict:
    """What the ensemble was trained on: the Whisper member's corpora (the CNN's RAVDESS is among them) and their terms."""
    import json

    member = json.loads((Path(whisper_folder) / "config.json").read_text()).get("training") or {}
    corpora = member.get("corpora") or {}
    catalogue = _catalogue()
    return {"data": Path(data).name, "corpus": ", ".join(corpora), "corpora": corpora,
            "n_clips": member.get("n_clips"), "n_speakers": member.get("n_speakers"),
            "licences": {catalogue[name]["name"].split(" (")[0]: catalogue[name]["licence"]
                         for name in corpora if name in catalogue},
            "languages": sorted({catalogue[name]["language"] for name in corpora if name in catalogue}),
            "members": [Path(folder).name for folder, _ in members], "held_out_for_examples": list(EXAMPLE_SPEAKERS),
            "selection": selection}


@dataclass
class Choice:
    """The ensemble the rules chose: members ``[(folder, weight)]``, their gates and its figures."""

    members: list
    domains: dict | None
    kfold: object
    loco: object
    saved: dict
    temperatures: dict
    description: str
    selection: str
    later_rule: str = ""  # the fifth rule's sentence, after the fourth's (save_choice)
    adapted_loco: object = None  # leave-one-corpus-out adapted to each voice (adapted_unseen_corpora), if measured


@dataclass
class Evidence:
    """What every rule measures on: the corpora's Whisper features, the CNN's folds and gate, the heads' folds."""

    dataset: object
    manifest: Path
    cnn_folder: Path
    folders: dict
    settings: dict
    cnn_kfold: dict
    gate: object
    inside: dict
    on_folds: np.ndarray
    noisy_kfold: dict
    _clean_kfold: dict | None = None
    _cnn: tuple | None = None
    members: tuple = SHIPPED_MEMBERS  # the noise-trained and the clean head, as whisper_members() makes them

    @property
    def outside(self) -> dict:
        """Whether each clip (by path) falls outside the CNN's gate."""
        return {path: not value for path, value in self.inside.items()}

    @property
    def unseen(self) -> list:
        """The corpora the CNN never heard: the leave-one-corpus-out of every rule."""
        return [name for name in self.dataset.corpus_names if name != "ravdess"]

    def clean_kfold(self) -> dict:
        """The clean head's out-of-fold probabilities on the CNN's folds (fitted once)."""
        if self._clean_kfold is None:
            copies = self.members[1].config.data.augment
            self._clean_kfold = whisper_on_cnn_folds(self.dataset, self.cnn_kfold, copies)
        return self._clean_kfold

    def cnn_probabilities(self) -> tuple:
        """The shipped CNN and its probabilities on every clip of the unseen corpora (computed once)."""
        if self._cnn is None:
            self._cnn = _cnn_probabilities(self.cnn_folder, self.manifest, self.unseen)
        return self._cnn


def gather_evidence(dataset, *, manifest, cnn_folder, folders, members=SHIPPED_MEMBERS) -> Evidence:
    """The CNN's folds and gate and the noise-trained head on those folds: the ground every rule stands on.

    ``members``: the noise-trained and the clean head (:func:`whisper_members`), whose copies ``dataset`` holds.
    """
    from ser_core.modelfolder.read import read_metrics

    cnn_kfold = read_predictions(cnn_folder)["kfold"]
    settings = {**read_metrics(cnn_folder).protocols["kfold"].settings, "corpora": ["ravdess"]}
    qualities = clip_qualities(dataset)
    gate = cnn_domain(dataset, qualities)
    inside = {path: bool(gate.inside(quality)[0]) for path, quality in qualities.items()}
    return Evidence(dataset, Path(manifest), Path(cnn_folder), folders, settings, cnn_kfold, gate, inside,
                    _inside_on_folds(dataset, inside, cnn_kfold),
                    whisper_on_cnn_folds(dataset, cnn_kfold, members[0].config.data.augment), members=members)


def _inside_on_folds(dataset, inside, cnn_kfold) -> np.ndarray:
    """Whether each clip of the CNN's folds is inside its gate (matched by file name among RAVDESS clips)."""
    by_name = {Path(path).name: inside[path] for path, corpus in zip(dataset.paths, dataset.corpora)
               if corpus == "ravdess"}
    return np.array([by_name.get(Path(path).name, True) for path in cnn_kfold["paths"]])


def gated_choice(evidence, log=print) -> tuple[bool, Choice]:
    """Step 2 of results/robust_default.md: the CNN and the noise-trained head, the CNN behind its gate if adopted."""
    adopted, (kfold, saved, temperatures) = gated_kfold(evidence.cnn_kfold, evidence.noisy_kfold, evidence.on_folds,
                                                        evidence.settings, log=log)
    loco = unseen_corpora(evidence, whisper=[(evidence.folders[WHISPER_MEMBER.name], temperatures["members"][1], None,
                                              1.0)],
                          cnn_admits=evidence.inside if adopted else None)
    members = [(evidence.cnn_folder, 1.0), (evidence.folders[WHISPER_MEMBER.name], 1.0)]
    return adopted, Choice(members, {CNN_MEMBER: evidence.gate} if adopted else None, kfold, loco, saved, temperatures,
                           ENSEMBLE_DESCRIPTION, SELECTION)


def routed_choice(evidence, route: str) -> Choice:
    """The ensemble routed by the CNN's gate as :data:`ROUTES` ``[route]`` says (members' weights and gates)."""
    from ser_core.audio.quality import DomainGate

    gate, on_folds, inside, outside = evidence.gate, evidence.on_folds, evidence.inside, evidence.outside
    gates = {"inside": gate, "outside": DomainGate(gate.min_snr_db, gate.min_high_band_db, serves="outside"),
             "all": None}
    on_folds_by = {"inside": on_folds, "outside": ~on_folds, "all": None}
    admits_by = {"inside": inside, "outside": outside, "all": None}
    names = (CNN_MEMBER, CLEAN_WHISPER_MEMBER.name, WHISPER_MEMBER.name)
    folders = (evidence.cnn_folder, evidence.folders[names[1]], evidence.folders[names[2]])
    member_kfolds = (evidence.cnn_kfold, evidence.clean_kfold(), evidence.noisy_kfold)
    spec = ROUTES[route]
    kfold, saved, temperatures = combine(
        [member if on_folds_by[serves] is None else {**member, "admitted": on_folds_by[serves]}
         for member, (_, serves) in zip(member_kfolds, spec)],
        [weight for weight, _ in spec], protocol="kfold", settings=evidence.settings)
    (cnn_weight, cnn_serves), *heads = spec
    loco = unseen_corpora(evidence, cnn_admits=admits_by[cnn_serves], cnn_weight=cnn_weight,
                          whisper=[(folder, temperature, admits_by[serves], weight) for folder, temperature,
                                   (weight, serves) in zip(folders[1:], temperatures["members"][1:], heads)])
    domains = {name: gates[serves] for name, (_, serves) in zip(names, spec) if gates[serves] is not None}
    return Choice([(folder, weight) for folder, (weight, _) in zip(folders, spec)], domains, kfold, loco, saved,
                  temperatures, ROUTE_DESCRIPTIONS[route], f"{SELECTION} {ROUTED_SELECTION}",
                  ROUTE_SELECTIONS.get(route, ""))


def choose_ensemble(dataset, *, manifest, cnn_folder, folders, members=SHIPPED_MEMBERS, log=print) -> Choice:
    """Steps 2 and 3 of results/robust_default.md, then the fifth rule's route (results/shared_route.md)."""
    evidence = gather_evidence(dataset, manifest=manifest, cnn_folder=cnn_folder, folders=folders, members=members)
    adopted, step2 = gated_choice(evidence, log=log)
    if not adopted:
        return step2
    routed = routed_choice(evidence, "C")
    gain = routed.kfold.mean("accuracy") - step2.kfold.mean("accuracy")
    loss = step2.loco.mean("uar") - routed.loco.mean("uar")
    adopted = gain >= ROUTING_GAIN and loss <= ROUTING_SLACK
    log(f"routing (step 3): RAVDESS new-speaker accuracy {routed.kfold.mean('accuracy'):.4f} vs "
        f"{step2.kfold.mean('accuracy'):.4f}, leave-one-corpus-out UAR {routed.loco.mean('uar'):.4f} vs "
        f"{step2.loco.mean('uar'):.4f}: {'adopted' if adopted else 'not adopted'}")
    if not adopted:
        return step2
    if SHIPPED_ROUTE != "C":
        return routed_choice(evidence, SHIPPED_ROUTE)
    routed.adapted_loco = adapted_unseen_corpora(evidence, routed.temperatures["members"], log=log)  # route C's
    return routed


def build_default(data, *, root=None, reuse=True, set_default=True, command="python -m ser_core build-default",
                  members=SHIPPED_MEMBERS, log=print) -> Path:
    """Train (or reuse) the Whisper members, choose the ensemble by the rules, save it and make it the default.

    ``members``: the noise-trained and the clean head (:func:`whisper_members`); a rule's candidate passes its own.
    """
    from ser_core.data.dataset import load_dataset
    from ser_core.modelfolder.read import artifacts_root, set_default_model

    root = Path(root) if root is not None else artifacts_root()
    cnn_folder = root / CNN_MEMBER
    if not (cnn_folder / "config.json").is_file():
        raise ArtifactError(f"{cnn_folder} is missing: train the CNN member first "
                            "(python -m ser_core build-default --ravdess-only --data ../shared/data/ravdess-16k)")
    manifest = training_manifest(data)
    corpora = corpora_phrase(manifest)
    folders = {member.name: _member_folder(with_corpora(member, corpora), data=manifest, root=root, reuse=reuse,
                                           log=log, command=command)
               for member in members}
    copies = tuple(dict.fromkeys(key for member in members for key in member.config.data.augment))
    dataset = load_dataset(manifest, feature_kind=members[0].config.data.features, augment=copies)
    choice = choose_ensemble(dataset, manifest=manifest, cnn_folder=cnn_folder, folders=folders, members=members,
                             log=log)
    for result in (choice.kfold, choice.loco, choice.adapted_loco):
        if result is not None:
            log(f"ensemble {result.title}: accuracy {result.mean('accuracy'):.4f}, UAR {result.mean('uar'):.4f}")
    folder = save_choice(choice, root / ENSEMBLE_NAME, dataset=dataset, data=data,
                         whisper_folder=folders[members[0].name], corpora=corpora, command=command)
    if set_default:
        set_default_model(folder.name, root=root)
        log(f"default model: {folder.name}")
    return folder


def save_choice(choice, folder, *, dataset, data, whisper_folder, corpora, command) -> Path:
    """The chosen ensemble saved as a model folder, its card naming the corpora, their terms and the rules."""
    from ser_core.modelfolder.results import ModelMetrics
    from ser_core.modelfolder.save import save_ensemble

    calibration = {"temperature": choice.temperatures["ensemble"],
                   "temperature_fitted_on": f"out-of-fold test predictions of '{choice.kfold.title}'"}
    selection = choice.selection + (f" {MORE_CORPORA_SELECTION}" if set(dataset.corpus_names) > FIRST_CORPORA else "")
    selection += f" {choice.later_rule}" if choice.later_rule else ""
    training = _training_record(whisper_folder, data, choice.members, selection)
    return save_ensemble(folder, choice.members,
                         metrics=ModelMetrics(protocols={"kfold": choice.kfold, "loco": choice.loco,
                                                         **({"loco_speaker_adapted": choice.adapted_loco}
                                                            if choice.adapted_loco is not None else {})}),
                         training={**training, "command": command}, predictions={"kfold": choice.saved},
                         calibration=calibration, description=choice.description.format(corpora=corpora),
                         domains=choice.domains)
