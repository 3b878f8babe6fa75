"""A model in plain words: what it recognises, in what speech, on whom it was tested, how often it is right.

One source for every surface: Home, the top of the report and the Predict page's track
record all print :func:`plain_summary` of a model folder, built from its ``config.json``
and ``metrics.json`` (the same files its card is written from). Nothing here is a
number typed by hand: accuracy, UAR, chance, the weakest emotions and the
leave-one-corpus-out figures are read from the folder, and what the folder does not
measure is said plainly ("has NOT been tested on other corpora").

Examples
--------
>>> summary = plain_summary("artifacts/cnn-compare-ensemble")  # doctest: +SKIP
>>> print(summary.lead)  # doctest: +SKIP
Recognises 8 emotions in acted English speech; right on 70.5% of clips from speakers it never heard (chance 12.5%).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ser_core.formatting import html_text, percent

#: The kind of speech in each known corpus: its display name and what its speakers do.
KNOWN_CORPORA = {
    "ravdess": ("RAVDESS", "North American actors reading two fixed sentences"),
    "tess": ("TESS", "two Canadian actresses saying single words in a fixed carrier phrase"),
    "savee": ("SAVEE", "four British male actors reading sentences"),
    "turev": ("TurEV-DB", "actors saying single words"),
    "nemo": ("nEMO", "nine Polish actors reading sentences"),
    "ased": ("ASED", "65 Amharic speakers reading sentences, each clip accepted by judges"),
    "crema-d": ("CREMA-D", "91 actors reading twelve sentences"),
    "emodb": ("EmoDB", "ten actors reading ten sentences"),
}
#: Language names for the ISO 639-1 codes of :data:`ser_core.data.naming.LANGUAGES`.
LANGUAGE_NAMES = {"en": "English", "tr": "Turkish", "pl": "Polish", "am": "Amharic", "de": "German", "it": "Italian",
                  "ur": "Urdu", "fr": "French", "es": "Spanish", "zh": "Chinese"}
#: How many of the least-recalled emotions the summary names.
N_WEAKEST = 2


@dataclass(frozen=True)
class SummaryPart:
    """One line of a plain summary: a ``key`` for tests and styling, a short ``heading`` and the ``text``."""

    key: str
    heading: str
    text: str


@dataclass(frozen=True)
class PlainSummary:
    """A model in plain words: a one-sentence ``lead`` and the lines behind it."""

    model: str
    lead: str
    parts: tuple

    def part(self, key: str) -> SummaryPart | None:
        """The line called ``key`` (``recognises``, ``speech``, ``right``, ``unseen``, ``weak``, ``untested``)."""
        return next((part for part in self.parts if part.key == key), None)

    def text(self) -> str:
        """Plain text: the lead, then one ``heading: text`` line per part."""
        return "\n".join([self.lead, *(f"{part.heading}: {part.text}" for part in self.parts)])

    def markdown(self) -> str:
        """Markdown: the lead in bold, then one bullet per part (model labels escaped)."""
        lines = [f"**{_md(self.lead)}**", ""]
        lines += [f"- **{part.heading}:** {_md(part.text)}" for part in self.parts]
        return "\n".join(lines)

    def html(self) -> str:
        """HTML: the lead as a paragraph and the parts as a definition-like list (everything escaped)."""
        items = "".join(f"<li data-part='{part.key}'><b>{html_text(part.heading)}:</b> {html_text(part.text)}</li>"
                        for part in self.parts)
        return f"<p class='lead'>{html_text(self.lead)}</p><ul class='summary'>{items}</ul>"


def _md(text: str) -> str:
    """Text safe inside Markdown: the characters that start emphasis, code or links are escaped."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def _read(model):
    """``(name, config, metrics)`` from a folder path, a loaded model or an artifacts row."""
    from ser_core.modelfolder.read import read_config, read_metrics

    if isinstance(model, (str, Path)):
        folder = Path(model)
        return folder.name, read_config(folder), read_metrics(folder)
    if isinstance(model, dict):
        return model.get("name") or model["config"].get("name"), model["config"], model.get("metrics")
    return model.name, model.config, model.metrics


def _listing(items) -> str:
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def training_corpora(config: dict) -> list[str]:
    """The corpora a model was trained on, by key (``ravdess``, ``tess``, ...) or by the name its folder gives."""
    training = config.get("training") or {}
    corpora = training.get("corpora")
    if isinstance(corpora, dict) and corpora:
        return [str(name) for name in corpora]
    if isinstance(corpora, (list, tuple)) and corpora:
        return [str(name) for name in corpora]
    name = training.get("corpus") or (Path(str(training["data"])).name if training.get("data") else None)
    return [str(name)] if name else []


def corpus_title(name: str) -> str:
    """A corpus key as people write it: ``TurEV-DB``, ``RAVDESS``; other names as given."""
    return KNOWN_CORPORA.get(str(name).lower(), (str(name), None))[0]


def training_languages(config: dict) -> list[str]:
    """The languages of the training corpora, by name; empty when the folder does not say and the corpus is unknown."""
    from ser_core.data.naming import LANGUAGES

    training = config.get("training") or {}
    codes = training.get("languages") or [LANGUAGES.get(name.lower()) for name in training_corpora(config)]
    names = []
    for code in codes:
        if code and LANGUAGE_NAMES.get(str(code), str(code)) not in names:
            names.append(LANGUAGE_NAMES.get(str(code), str(code)))
    return names


def _speech(config: dict) -> str:
    """The kind of speech the model was trained on: acted, by whom, in which languages."""
    training = config.get("training") or {}
    corpora = training_corpora(config)
    known = [name for name in corpora if name.lower() in KNOWN_CORPORA]
    languages = training_languages(config)
    if corpora and len(known) == len(corpora):
        where = "; ".join(f"{corpus_title(name)}: {KNOWN_CORPORA[name.lower()][1]}" for name in corpora)
        return f"Acted emotions in {_listing(languages) or 'speech'} ({where})."
    clips = training.get("n_clips")
    speakers = training.get("n_speakers") or training.get("n_actors")
    size = f", {clips:,} clips of {speakers} speakers" if clips and speakers else ""
    named = _listing(corpus_title(name) for name in corpora) or "a corpus it does not name"
    return f"Trained on {named}{size}; the folder does not say what kind of speech that is."


def _chance(n_labels: int) -> float:
    return 1 / max(n_labels, 1)


def _loco(metrics):
    result = metrics.protocols.get("loco") if metrics is not None else None
    return result if result is not None and result.per_corpus else None


def _unseen(config: dict, metrics) -> str:
    """Speech it was not trained on: the leave-one-corpus-out figures, or that it was never tested so."""
    loco = _loco(metrics)
    if loco is None:
        headline = metrics.headline if metrics is not None else None
        corpora = _listing(corpus_title(name) for name in (tested_corpora(headline, config) if headline is not None
                                                           else training_corpora(config))) or "its own corpus"
        return (f"Not measured: it was tested on {corpora} speakers only and has NOT been tested on other corpora, "
                "so expect lower figures on any other recording.")
    rows = loco.per_corpus
    each = ", ".join(f"{corpus_title(row['corpus'])} {percent(row['uar'], decimals=0)}" for row in rows)
    chances = sorted({_chance(len(row["shared_labels"] or [])) for row in rows if row.get("shared_labels")})
    chance = ""
    if chances:
        low, high = percent(chances[0], decimals=0), percent(chances[-1], decimals=0)
        chance = f"; chance {low}" if low == high else f"; chance {low}-{high} on their shared emotions"
    note = loco.settings.get("note")
    adapted = metrics.protocols.get("loco_speaker_adapted")
    return (f"With each corpus left out of training in turn and tested (leave one corpus out), mean UAR "
            f"{percent(loco.mean('uar'))} over {len(rows)} corpora ({each}{chance})."
            + (f" {note[0].upper()}{note[1:]}." if note else "")
            + (f" Adapted to each voice from {adapted.settings.get('enrolment', 'its clips')} (emotions unknown): "
               f"mean UAR {percent(adapted.mean('uar'))}." if adapted is not None else ""))


def _weak(headline) -> str | None:
    """The least-recalled emotions and what they are most often taken for, on the headline protocol."""
    evaluation = headline.evaluation() if headline is not None else None
    per_class = (evaluation or {}).get("per_class") or {}
    recalls = [(row.get("recall"), label) for label, row in per_class.items() if row.get("recall") is not None]
    if len(recalls) < 2:
        return None
    weakest = sorted(recalls)[:N_WEAKEST]
    first_recall, first = weakest[0]
    text = f"{first} ({percent(first_recall, decimals=0)} of its clips recognised)" + "".join(
        f" and {label} ({percent(recall, decimals=0)})" for recall, label in weakest[1:])
    labels = list(evaluation.get("labels") or per_class)
    confusion = evaluation.get("confusion")
    worst = weakest[0][1]
    if confusion is not None and worst in labels:
        row = list(confusion[labels.index(worst)])
        others = [(count, labels[j]) for j, count in enumerate(row) if labels[j] != worst]
        count, taken_for = max(others) if others else (0, None)
        if taken_for and count:
            text += f"; {worst} is most often taken for {taken_for}"
    return f"Least often right on {text}."


def _untested(config: dict) -> str:
    languages = training_languages(config)
    other = f"languages other than {_listing(languages)}" if languages else "other languages"
    routed = any("domain" in member for member in config.get("members") or [])
    noise = ("how often it is right in noisy rooms or on the telephone (it routes such recordings to a head "
             "trained on noisy copies, but was scored on clean clips only, and on a voice it never heard a "
             "little noise can move its answer between close emotions)"
             if routed else "noisy rooms or telephone audio")
    return f"Spontaneous conversation, {other}, {noise}, children's voices, and mixed or subtle emotions."


def tested_corpora(result, config: dict) -> list[str]:
    """The corpora a within-corpus protocol's test clips came from.

    Read from the protocol's settings (``corpora`` or ``corpus``) when the folder records
    them; else, for a model trained on several corpora, the one corpus whose clip count
    equals the number of clips scored (a default tested 5-fold on RAVDESS alone); else every
    training corpus.
    """
    settings = getattr(result, "settings", None) or {}
    named = settings.get("corpora") or ([settings["corpus"]] if settings.get("corpus") else [])
    if named:
        return [str(name) for name in named]
    counts = (config.get("training") or {}).get("corpora")
    scored = ((result.evaluation() or {}).get("n_clips") if result is not None else None)
    if isinstance(counts, dict) and len(counts) > 1 and scored:
        matching = [str(name) for name, count in counts.items() if count == scored]
        if len(matching) == 1:
            return matching
    return training_corpora(config)


def _how(title: str) -> str:
    """The parenthesis of a protocol title (``5-fold by speaker``), or the title itself."""
    match = re.search(r"\((.*)\)$", title)
    return match.group(1) if match else title


def plain_summary(model) -> PlainSummary:
    """The plain summary of a model: a folder path, a loaded model, or an artifacts row (``config``, ``metrics``).

    Parameters
    ----------
    model : str, Path, LoadedModel or dict
        What to describe; the figures come from its ``config.json`` and ``metrics.json``.

    Returns
    -------
    PlainSummary
        ``lead`` (one sentence) and the parts ``recognises``, ``speech``, ``right``,
        ``unseen``, ``weak`` (when the folder has per-emotion figures) and ``untested``.
    """
    from ser_core.data.labels import label_order

    name, config, metrics = _read(model)
    labels = label_order(str(label) for label in config.get("labels") or [])
    chance = _chance(len(labels))
    parts = [SummaryPart("recognises", "What it recognises",
                         f"{len(labels)} emotions from the sound of the voice, not the words: {', '.join(labels)}."),
             SummaryPart("speech", "In what speech", _speech(config))]
    headline = metrics.headline if metrics is not None else None
    languages = _listing(training_languages(config))
    kind = f"acted {languages} speech" if languages else "speech"
    if headline is None:
        lead = f"Recognises {len(labels)} emotions in {kind}; it has no evaluation figures, so treat its scores as untested."
        parts.append(SummaryPart("right", "How often it is right", "Not measured: the folder holds no evaluation."))
    elif headline.speaker_independent:
        accuracy = percent(headline.mean("accuracy"))
        corpora = _listing(corpus_title(c) for c in tested_corpora(headline, config))
        on = f"{corpora} speakers" if corpora else "speakers"
        loco = _loco(metrics)
        unseen = (f"mean UAR {percent(loco.mean('uar'))} on corpora it never heard" if loco is not None
                  else "not tested on other corpora")
        lead = (f"Recognises {len(labels)} emotions in {kind}; right on {accuracy} of clips from {on} it never "
                f"heard (chance {percent(chance)}); {unseen}.")
        parts.append(SummaryPart("right", "How often it is right",
                                 f"On {on} it never heard ({_how(headline.title)}): right on {accuracy} of clips, UAR "
                                 f"{percent(headline.mean('uar'))} (each emotion counted the same), against "
                                 f"{percent(chance)} by chance with {len(labels)} emotions."))
    else:
        lead = (f"Recognises {len(labels)} emotions in {kind}; only tested with the same voices in training and test, "
                "so how it does on a new voice is unknown.")
        parts.append(SummaryPart("right", "How often it is right",
                                 f"{percent(headline.mean('accuracy'))} on the {headline.title}, where the same voices "
                                 f"are in training and test: that says little about a new voice (chance "
                                 f"{percent(chance)})."))
    parts.append(SummaryPart("unseen", "Speech it was not trained on", _unseen(config, metrics)))
    weak = _weak(headline) if headline is not None else None
    if weak:
        parts.append(SummaryPart("weak", "Where it is weak", weak))
    parts.append(SummaryPart("untested", "Not tested on", _untested(config)))
    return PlainSummary(model=name, lead=lead, parts=tuple(parts))
