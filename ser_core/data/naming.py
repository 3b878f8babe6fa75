"""The naming conventions of the known corpora, mapped onto :mod:`ser_core.data.labels`.

- ravdess: ``03-01-06-01-02-01-12.wav`` (modality, vocal channel, emotion, intensity,
  statement, repetition, actor; odd actors male)
- crema-d: ``1001_DFA_ANG_XX.wav`` (actor, sentence, emotion, level)
- tess: ``OAF_back_angry.wav`` (speaker, word, emotion; ``ps`` = pleasant surprise)
- savee: ``DC_a01.wav`` or ``DC/a01.wav`` (speaker, emotion code + sentence number)
- emodb: ``03a01Fa.wav`` (speaker, text, German emotion letter, version)

Each parser takes a path and returns a label dict, returns None when the name does not
follow its convention, or raises :class:`Excluded` when it does but the clip is unusable.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd

from ser_core.data.labels import EMOTIONS
from ser_core.errors import CorpusError

#: The known corpora, named by their file-name conventions.
CORPORA = ("ravdess", "crema-d", "tess", "savee", "emodb")
#: The language each known corpus is spoken in (ISO 639-1).
#: (TurEV-DB, nEMO and ASED have no file-name convention here; they come as a folder per label or a manifest.)
LANGUAGES = {"ravdess": "en", "crema-d": "en", "tess": "en", "savee": "en", "emodb": "de", "turev": "tr", "nemo": "pl",
             "ased": "am"}


class Excluded(Exception):
    """A file named after the corpus's convention but not a usable speech clip."""


_RAVDESS_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_RAVDESS_INTENSITY = {"01": "normal", "02": "strong"}
_RAVDESS_EMOTIONS = {f"{code:02d}": name for code, name in enumerate(EMOTIONS, start=1)}


def _parse_ravdess(path: Path) -> dict | None:
    match = _RAVDESS_RE.match(path.stem)
    if match is None:
        return None
    modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    if modality != "03":
        raise Excluded(f"RAVDESS modality {modality} is not audio-only (03)")
    if channel == "02":
        raise Excluded("RAVDESS song clip (vocal channel 02); only speech (01) is indexed")
    if channel != "01":
        raise Excluded(f"RAVDESS vocal channel {channel} is neither speech (01) nor song (02)")
    if emotion not in _RAVDESS_EMOTIONS:
        raise Excluded(f"RAVDESS emotion code {emotion} is not one of 01..08")
    if intensity not in _RAVDESS_INTENSITY:
        raise Excluded(f"RAVDESS intensity code {intensity} is not 01 or 02")
    if emotion == "01" and intensity == "02":
        raise Excluded("RAVDESS neutral clip with strong intensity (02) does not exist")
    if statement not in ("01", "02") or repetition not in ("01", "02"):
        raise Excluded(f"RAVDESS statement {statement} / repetition {repetition} not 01 or 02")
    if actor == "00":
        raise Excluded("RAVDESS actor 00 does not exist (actors start at 01)")
    return {
        "label": _RAVDESS_EMOTIONS[emotion],
        "intensity": _RAVDESS_INTENSITY[intensity],
        "statement": statement,
        "repetition": int(repetition),
        "speaker": actor,
        "gender": "male" if int(actor) % 2 else "female",
    }


_CREMA_RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_CREMA_EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
_CREMA_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}


def _parse_crema(path: Path) -> dict | None:
    match = _CREMA_RE.match(path.stem)
    if match is None:
        return None
    actor, sentence, emotion, level = match.groups()
    if emotion not in _CREMA_EMOTIONS:
        raise Excluded(f"CREMA-D emotion code {emotion} is not one of {', '.join(_CREMA_EMOTIONS)}")
    if level not in _CREMA_LEVELS:
        raise Excluded(f"CREMA-D level {level} is not one of {', '.join(_CREMA_LEVELS)}")
    # Gender lives in CREMA-D's separate demographics table, not in the name.
    return {
        "label": _CREMA_EMOTIONS[emotion],
        "intensity": _CREMA_LEVELS[level],
        "statement": sentence,
        "repetition": pd.NA,
        "speaker": actor,
        "gender": "unknown",
    }


_TESS_RE = re.compile(r"^(OAF|YAF)_([A-Za-z]+)_([A-Za-z]+)$", re.IGNORECASE)
_TESS_EMOTIONS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprised",
    "sad": "sad",
}


def _parse_tess(path: Path) -> dict | None:
    match = _TESS_RE.match(path.stem)
    if match is None:
        return None
    speaker, word, emotion = match.groups()
    emotion = emotion.lower()
    if emotion not in _TESS_EMOTIONS:
        raise Excluded(f"TESS emotion {emotion!r} is not one of {', '.join(_TESS_EMOTIONS)}")
    return {
        "label": _TESS_EMOTIONS[emotion],
        "intensity": "unspecified",
        "statement": word.lower(),
        "repetition": pd.NA,
        "speaker": speaker.upper(),
        "gender": "female",
    }


_SAVEE_PREFIXED_RE = re.compile(r"^([A-Z]{2})_(sa|su|a|d|f|h|n)(\d{2})$")
_SAVEE_BARE_RE = re.compile(r"^(sa|su|a|d|f|h|n)(\d{2})$")
_SAVEE_SPEAKER_DIR_RE = re.compile(r"^[A-Z]{2}$")
_SAVEE_EMOTIONS = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}


def _parse_savee(path: Path) -> dict | None:
    match = _SAVEE_PREFIXED_RE.match(path.stem)
    if match is not None:
        speaker, emotion, number = match.groups()
    else:
        match = _SAVEE_BARE_RE.match(path.stem)
        # A bare "a01.wav" is only SAVEE inside its speaker's folder (AudioData/DC/a01.wav).
        if match is None or not _SAVEE_SPEAKER_DIR_RE.match(path.parent.name):
            return None
        speaker = path.parent.name
        emotion, number = match.groups()
    return {
        "label": _SAVEE_EMOTIONS[emotion],
        "intensity": "unspecified",
        "statement": f"{emotion}{number}",
        "repetition": pd.NA,
        "speaker": speaker,
        "gender": "male",
    }


_EMODB_RE = re.compile(r"^(\d{2})([ab]\d{2})([WLEAFTN])([a-z])$")
_EMODB_EMOTIONS = {
    "W": "angry",  # Wut / Ärger
    "L": "boredom",  # Langeweile
    "E": "disgust",  # Ekel
    "A": "fearful",  # Angst
    "F": "happy",  # Freude
    "T": "sad",  # Trauer
    "N": "neutral",
}
# EmoDB's speaker table (Burkhardt et al., 2005).
_EMODB_GENDERS = {
    "03": "male",
    "08": "female",
    "09": "female",
    "10": "male",
    "11": "male",
    "12": "male",
    "13": "female",
    "14": "female",
    "15": "male",
    "16": "female",
}


def _parse_emodb(path: Path) -> dict | None:
    match = _EMODB_RE.match(path.stem)
    if match is None:
        return None
    speaker, text, emotion, version = match.groups()
    return {
        "label": _EMODB_EMOTIONS[emotion],
        "intensity": "unspecified",
        "statement": text,
        "repetition": pd.NA,
        "speaker": speaker,
        "gender": _EMODB_GENDERS.get(speaker, "unknown"),
    }


PARSERS = {
    "ravdess": _parse_ravdess,
    "crema-d": _parse_crema,
    "tess": _parse_tess,
    "savee": _parse_savee,
    "emodb": _parse_emodb,
}

EXAMPLES = {
    "ravdess": "03-01-06-01-02-01-12.wav",
    "crema-d": "1001_DFA_ANG_XX.wav",
    "tess": "OAF_back_angry.wav",
    "savee": "DC_a01.wav",
    "emodb": "03a01Fa.wav",
}

_ALIASES = {"cremad": "crema-d", "crema": "crema-d", "emo-db": "emodb", "berlin": "emodb", "folder": "folders",
            "folder-per-label": "folders", "labels": "folders", "csv": "manifest", "parquet": "manifest"}



def ravdess_actor(path) -> str | None:
    """The two-digit actor of a RAVDESS file name (``03-01-05-01-02-01-12.wav`` -> ``"12"``), else None."""
    match = _RAVDESS_RE.match(Path(path).stem)
    return match.group(7) if match else None


def normalize_corpus_name(name: str) -> str:
    """Return the canonical corpus name for ``name``: ``"auto"``, one of :data:`CORPORA`, or a layout.

    Layouts (:data:`ser_core.data.layouts.LAYOUTS`): ``folders`` (one folder per label)
    and ``manifest`` (a CSV or Parquet table).
    """
    from ser_core.data.layouts import LAYOUTS

    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key != "auto" and key not in PARSERS and key not in LAYOUTS:
        raise CorpusError(f"unknown corpus {name!r}; expected 'auto', one of {', '.join(CORPORA)}, "
                          f"or a layout: {', '.join(LAYOUTS)}")
    return key


def classify(path: Path, parser) -> tuple[str, object]:
    """("clip", labels), ("excluded", reason) or ("foreign", None) for one file name."""
    try:
        labels = parser(path)
    except Excluded as reason:
        return "excluded", str(reason)
    return ("foreign", None) if labels is None else ("clip", labels)


def naming_votes(paths) -> Counter:
    """How many of the given file names follow each known naming convention."""
    votes = Counter()
    for path in map(Path, paths):
        for name, parser in PARSERS.items():
            if classify(path, parser)[0] != "foreign":
                votes[name] += 1
    return votes


def detect_corpus(paths) -> str:
    """Return the corpus whose naming convention most of the given audio file names follow."""
    paths = list(paths)
    votes = naming_votes(paths)
    if not votes:
        examples = "; ".join(f"{name}: {example}" for name, example in EXAMPLES.items())
        raise CorpusError(
            f"none of {len(paths)} audio file names follows a known corpus naming ({examples})"
        )
    return votes.most_common(1)[0][0]
