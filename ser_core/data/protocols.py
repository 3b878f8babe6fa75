"""The evaluation protocols by name, and the plain words every screen and report uses for them.

A figure is only meaningful with its protocol: "new speakers" (test speakers never heard in
training), "adapted to the speaker" (the same, with each test speaker's unlabelled clips used
to normalise their voice), the study's random split (speakers shared between training and
test, which rewards memorising voices), speech it was not trained on (leave one corpus out:
each corpus tested by a model trained on the others; also adapted to each voice), or another
corpus.
"""

from __future__ import annotations

#: Protocols a training run can be evaluated with (``TrainConfig.protocol``).
TRAINING_PROTOCOLS = ("random", "kfold", "holdout", "loco", "cross_corpus")

#: Protocols whose test clips come from corpora the model was not trained on: their figures are never averaged or
#: ranked with the others, and a model's headline never comes from them.
CROSS_CORPUS = ("loco", "loco_speaker_adapted", "cross_corpus")

#: Protocols that need clips of several corpora (a manifest's ``corpus`` column).
MULTI_CORPUS = ("loco",)

#: The within-corpora protocol leave-one-corpus-out is always reported beside (new speakers of the training corpora).
LOCO_COMPANION = "kfold"

#: Every protocol a model folder may report, in the order tables show them.
PROTOCOL_ORDER = ("kfold", "holdout", "kfold_speaker_adapted", "random", "random_as_written", "loco",
                  "loco_speaker_adapted", "cross_corpus")

#: Protocols that test on speakers never heard in training.
SPEAKER_INDEPENDENT = ("kfold", "holdout", "kfold_speaker_adapted", "loco", "loco_speaker_adapted", "cross_corpus")

_TITLES = {
    "kfold": "new speakers ({n}-fold by speaker)",
    "holdout": "new speakers (held-out speakers {speakers})",
    "kfold_speaker_adapted": "adapted to the speaker ({n}-fold by speaker)",
    "random": "study's random split (speakers shared)",
    "random_as_written": "study's protocol as written (stopped on the test set: optimistic)",
    "loco": "speech it was not trained on: leave one corpus out ({n_corpora} corpora)",
    "loco_speaker_adapted": "speech it was not trained on, adapted to each voice: leave one corpus out "
                            "({n_corpora} corpora)",
    "cross_corpus": "another corpus ({corpus}{shared})",
}

_EXPLANATIONS = {
    "kfold": "The speakers are split into {n} groups; each group is tested by a model trained on the others, "
             "so every test voice is new to the model. The honest estimate for a new speaker.",
    "holdout": "Speakers {speakers} were kept out of training and used only for testing.",
    "kfold_speaker_adapted": "As 'new speakers', but each test speaker's own unlabelled clips first "
                             "tell the model how that voice sounds on average.",
    "random": "The study's stratified random 80/20 split: the same speakers appear in training and test, "
              "so it rewards recognising voices as much as emotions.",
    "random_as_written": "The study's random split with early stopping watching the test clips, as the "
                         "study did: the test set chose the epoch, so the figure is optimistic.",
    "loco": "Each corpus in turn ({corpora}) was left out of training and tested by a model trained on all the "
            "others, on the labels it shares with them (the model's choice restricted to those labels): speech "
            "it was not trained on, other speakers, texts, recording rooms and perhaps languages. The figure is "
            "the mean over the corpora, each counting the same.",
    "loco_speaker_adapted": "As 'leave one corpus out', but each test speaker's own unlabelled clips first tell "
                            "the model how that voice sounds on average (Predict's 'Adapt to a voice').",
    "cross_corpus": "Trained on one corpus, tested on {corpus}, on the labels both share{shared_list}{left_out}.",
}


def _fields(n_folds, test_speakers, corpus, shared_labels, left_out, corpora=None) -> dict:
    shared = list(shared_labels or ())
    left = dict(left_out or {})
    return {
        "n": n_folds or 5,
        "speakers": ", ".join(str(speaker) for speaker in (test_speakers or ())) or "?",
        "corpora": ", ".join(str(name) for name in (corpora or ())) or "?",
        "n_corpora": len(corpora) if corpora else "?",
        "corpus": corpus or "?",
        "shared": f", {len(shared)} shared labels" if shared else "",
        "shared_list": f" ({', '.join(shared)})" if shared else "",
        "left_out": (f"; {sum(left.values())} clips of labels the model does not know were left out ("
                     + ", ".join(f"{label} {count}" for label, count in left.items()) + ")") if left else "",
    }


def protocol_title(protocol: str, *, n_folds: int | None = None, test_speakers=None, corpus: str | None = None,
                   shared_labels=None, corpora=None) -> str:
    """Short human name of a protocol, e.g. ``new speakers (5-fold by speaker)``."""
    template = _TITLES.get(protocol)
    if template is None:
        return protocol.replace("_", " ")
    return template.format(**_fields(n_folds, test_speakers, corpus, shared_labels, None, corpora))


def protocol_explanation(protocol: str, *, n_folds: int | None = None, test_speakers=None,
                         corpus: str | None = None, shared_labels=None, left_out=None, corpora=None) -> str:
    """One or two plain sentences on what a protocol measures."""
    template = _EXPLANATIONS.get(protocol, "")
    return template.format(**_fields(n_folds, test_speakers, corpus, shared_labels, left_out, corpora))


def protocol_rank(protocol: str) -> int:
    """Sort key: the order of :data:`PROTOCOL_ORDER` (unknown protocols last)."""
    return PROTOCOL_ORDER.index(protocol) if protocol in PROTOCOL_ORDER else len(PROTOCOL_ORDER)
