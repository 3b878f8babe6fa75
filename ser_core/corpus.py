"""Find and label the clips of an emotional speech corpus (folder at any depth, or zip).

Five naming conventions are understood and mapped onto :mod:`ser_core.labels`:

- ravdess: ``03-01-06-01-02-01-12.wav`` (modality, vocal channel, emotion, intensity,
  statement, repetition, actor; odd actors male)
- crema-d: ``1001_DFA_ANG_XX.wav`` (actor, sentence, emotion, level)
- tess: ``OAF_back_angry.wav`` (speaker, word, emotion; ``ps`` = pleasant surprise)
- savee: ``DC_a01.wav`` or ``DC/a01.wav`` (speaker, emotion code + sentence number)
- emodb: ``03a01Fa.wav`` (speaker, text, German emotion letter, version)

Files that are not speech clips of the corpus are skipped and reported with a reason;
one bad file never aborts an index.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import soundfile as sf

from ser_core.cache import default_cache_dir
from ser_core.errors import CorpusError
from ser_core.labels import ALL_EMOTIONS, EMOTIONS

#: Corpus names accepted by ``index_corpus(..., corpus=...)`` (besides ``"auto"``).
CORPORA = ("ravdess", "crema-d", "tess", "savee", "emodb")

#: File suffixes treated as audio; anything else is skipped as non-audio.
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"})

#: Columns of :attr:`CorpusIndex.clips`, in order.
COLUMNS = (
    "path",
    "corpus",
    "emotion",
    "intensity",
    "statement",
    "repetition",
    "actor",
    "gender",
    "duration_s",
    "sample_rate",
    "channels",
    "duplicate_of",
)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the index, with the reason why."""

    path: str
    reason: str


@dataclass
class CorpusIndex:
    """The labelled clips of one corpus and the files that were skipped."""

    corpus: str
    clips: pd.DataFrame
    skipped: list[SkippedFile] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.clips)


class _Excluded(Exception):
    """A file named after the corpus's convention but not a usable speech clip."""


# ---------------------------------------------------------------- name parsers
# Each parser takes a path and returns a label dict, returns None when the name does
# not follow its convention, or raises _Excluded when it does but the clip is unusable.

_RAVDESS_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_RAVDESS_INTENSITY = {"01": "normal", "02": "strong"}
_RAVDESS_EMOTIONS = {f"{code:02d}": name for code, name in enumerate(EMOTIONS, start=1)}


def _parse_ravdess(path: Path) -> dict | None:
    match = _RAVDESS_RE.match(path.stem)
    if match is None:
        return None
    modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    if modality != "03":
        raise _Excluded(f"RAVDESS modality {modality} is not audio-only (03)")
    if channel == "02":
        raise _Excluded("RAVDESS song clip (vocal channel 02); only speech (01) is indexed")
    if channel != "01":
        raise _Excluded(f"RAVDESS vocal channel {channel} is neither speech (01) nor song (02)")
    if emotion not in _RAVDESS_EMOTIONS:
        raise _Excluded(f"RAVDESS emotion code {emotion} is not one of 01..08")
    if intensity not in _RAVDESS_INTENSITY:
        raise _Excluded(f"RAVDESS intensity code {intensity} is not 01 or 02")
    if emotion == "01" and intensity == "02":
        raise _Excluded("RAVDESS neutral clip with strong intensity (02) does not exist")
    if statement not in ("01", "02") or repetition not in ("01", "02"):
        raise _Excluded(f"RAVDESS statement {statement} / repetition {repetition} not 01 or 02")
    if actor == "00":
        raise _Excluded("RAVDESS actor 00 does not exist (actors start at 01)")
    return {
        "emotion": _RAVDESS_EMOTIONS[emotion],
        "intensity": _RAVDESS_INTENSITY[intensity],
        "statement": statement,
        "repetition": int(repetition),
        "actor": actor,
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
        raise _Excluded(f"CREMA-D emotion code {emotion} is not one of {', '.join(_CREMA_EMOTIONS)}")
    if level not in _CREMA_LEVELS:
        raise _Excluded(f"CREMA-D level {level} is not one of {', '.join(_CREMA_LEVELS)}")
    # Gender lives in CREMA-D's separate demographics table, not in the name.
    return {
        "emotion": _CREMA_EMOTIONS[emotion],
        "intensity": _CREMA_LEVELS[level],
        "statement": sentence,
        "repetition": pd.NA,
        "actor": actor,
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
        raise _Excluded(f"TESS emotion {emotion!r} is not one of {', '.join(_TESS_EMOTIONS)}")
    return {
        "emotion": _TESS_EMOTIONS[emotion],
        "intensity": "unspecified",
        "statement": word.lower(),
        "repetition": pd.NA,
        "actor": speaker.upper(),
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
        "emotion": _SAVEE_EMOTIONS[emotion],
        "intensity": "unspecified",
        "statement": f"{emotion}{number}",
        "repetition": pd.NA,
        "actor": speaker,
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
        "emotion": _EMODB_EMOTIONS[emotion],
        "intensity": "unspecified",
        "statement": text,
        "repetition": pd.NA,
        "actor": speaker,
        "gender": _EMODB_GENDERS.get(speaker, "unknown"),
    }


_PARSERS = {
    "ravdess": _parse_ravdess,
    "crema-d": _parse_crema,
    "tess": _parse_tess,
    "savee": _parse_savee,
    "emodb": _parse_emodb,
}

_EXAMPLES = {
    "ravdess": "03-01-06-01-02-01-12.wav",
    "crema-d": "1001_DFA_ANG_XX.wav",
    "tess": "OAF_back_angry.wav",
    "savee": "DC_a01.wav",
    "emodb": "03a01Fa.wav",
}

_ALIASES = {"cremad": "crema-d", "crema": "crema-d", "emo-db": "emodb", "berlin": "emodb"}


def normalize_corpus_name(name: str) -> str:
    """Return the canonical corpus name (``"auto"`` or one of :data:`CORPORA`) for ``name``."""
    key = str(name).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key != "auto" and key not in _PARSERS:
        raise CorpusError(f"unknown corpus {name!r}; expected 'auto' or one of {', '.join(CORPORA)}")
    return key


# ---------------------------------------------------------------- finding files


def _walk_files(root: Path) -> list[Path]:
    """Every regular file under root (following symlinked folders once), sorted."""
    files = []
    seen_dirs = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames.sort()
        files.extend(Path(folder) / name for name in filenames)
    return sorted(files)


def _junk_reason(path: Path) -> str | None:
    """Why a file is not audio at all (None when it looks like audio)."""
    if "__MACOSX" in path.parts or path.name.startswith("._"):
        return "macOS metadata file, not audio"
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        suffix = path.suffix or "no suffix"
        return f"not an audio file ({suffix}); expected one of {', '.join(sorted(AUDIO_SUFFIXES))}"
    return None


def _extract_zip(zip_path: Path) -> Path:
    """Unpack a corpus zip once into the cache and return the folder."""
    stat = zip_path.stat()
    key = hashlib.sha256(
        f"{zip_path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    ).hexdigest()[:16]
    target = default_cache_dir() / "corpora" / f"{zip_path.stem}-{key}"
    done_marker = target.with_name(target.name + ".complete")  # beside, not inside, the corpus
    if done_marker.is_file() and target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(staging)  # extractall strips absolute and ".." members
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        done_marker.write_text(str(zip_path.resolve()))
    except zipfile.BadZipFile as error:
        raise CorpusError(f"{zip_path} is not a readable zip archive ({error})") from None
    except OSError as error:
        raise CorpusError(f"cannot unpack {zip_path} into {target.parent}: {error}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _resolve_root(path) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise CorpusError(f"corpus path {root} does not exist; expected a folder or a .zip")
    if root.is_file():
        if zipfile.is_zipfile(root):
            return _extract_zip(root)
        raise CorpusError(f"corpus path {root} is a file but not a zip; expected a folder or a .zip")
    return root


# ---------------------------------------------------------------- labelling


def _classify(path: Path, parser) -> tuple[str, object]:
    """("clip", labels), ("excluded", reason) or ("foreign", None) for one file name."""
    try:
        labels = parser(path)
    except _Excluded as reason:
        return "excluded", str(reason)
    return ("foreign", None) if labels is None else ("clip", labels)


def detect_corpus(paths) -> str:
    """Return the corpus whose naming convention most of the given audio file names follow."""
    votes = Counter()
    for path in map(Path, paths):
        for name, parser in _PARSERS.items():
            if _classify(path, parser)[0] != "foreign":
                votes[name] += 1
    if not votes:
        examples = "; ".join(f"{name}: {example}" for name, example in _EXAMPLES.items())
        raise CorpusError(
            f"none of {len(paths)} audio file names follows a known corpus naming ({examples})"
        )
    return votes.most_common(1)[0][0]


def _probe(path: Path) -> tuple[dict | None, str | None]:
    """Duration, sample rate and channels from the file header, or the reason it is unusable."""
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError, OSError) as error:
        message = str(error).strip() or type(error).__name__
        return None, f"cannot be decoded as audio: {message}"
    if info.frames <= 0 or info.samplerate <= 0:
        return None, "audio file with no samples (0 frames)"
    return {
        "duration_s": info.frames / info.samplerate,
        "sample_rate": int(info.samplerate),
        "channels": int(info.channels),
    }, None


def _mark_duplicates(paths: list[str]) -> list[str | None]:
    """For each path, the first earlier path with byte-identical content (else None)."""
    by_size = defaultdict(list)
    for position, path in enumerate(paths):
        by_size[os.path.getsize(path)].append(position)
    duplicate_of: list[str | None] = [None] * len(paths)
    for positions in by_size.values():
        if len(positions) < 2:
            continue
        first_by_digest = {}
        for position in positions:
            with open(paths[position], "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            if digest in first_by_digest:
                duplicate_of[position] = paths[first_by_digest[digest]]
            else:
                first_by_digest[digest] = position
    return duplicate_of


def _empty_clips() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in COLUMNS})


def _as_table(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return _empty_clips()
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["duration_s"] = table["duration_s"].astype("float64")
    for column in ("repetition", "sample_rate", "channels"):
        table[column] = table[column].astype("Int64")
    return table


def index_corpus(
    path,
    *,
    corpus: str = "auto",
    probe_audio: bool = True,
    progress: ProgressCallback | None = None,
) -> CorpusIndex:
    """Index the clips of a corpus folder (any depth) or zip into a labelled table.

    Parameters
    ----------
    path : str or Path
        A folder holding the corpus at any depth, or a ``.zip`` of it (unpacked once
        into the cache folder).
    corpus : str
        ``"auto"`` (the naming convention most file names follow) or one of
        :data:`CORPORA`.
    probe_audio : bool
        Read each file's header for ``duration_s``, ``sample_rate`` and ``channels``
        and skip files that cannot be decoded. When False those columns are empty.
    progress : callable, optional
        Called as ``progress(done, total)`` while files are examined.

    Returns
    -------
    CorpusIndex
        ``clips`` has the columns :data:`COLUMNS` sorted by path; ``skipped`` lists
        every file left out with the reason.
    """
    corpus = normalize_corpus_name(corpus)
    root = _resolve_root(path).absolute()
    files = _walk_files(root)
    skipped: list[SkippedFile] = []
    candidates = []
    for file in files:
        reason = _junk_reason(file)
        if reason is None:
            candidates.append(file)
        else:
            skipped.append(SkippedFile(str(file), reason))
    if not candidates:
        raise CorpusError(f"no audio files found under {root} ({len(files)} other files)")
    if corpus == "auto":
        corpus = detect_corpus(candidates)
    parser = _PARSERS[corpus]

    rows = []
    total = len(files)
    done = len(files) - len(candidates)
    for file in candidates:
        kind, payload = _classify(file, parser)
        if kind == "foreign":
            skipped.append(
                SkippedFile(str(file), f"name does not follow the {corpus} naming (e.g. {_EXAMPLES[corpus]})")
            )
        elif kind == "excluded":
            skipped.append(SkippedFile(str(file), payload))
        else:
            row = _labelled_row(file, corpus, payload, probe_audio=probe_audio, skipped=skipped)
            if row is not None:
                rows.append(row)
        done += 1
        if progress is not None:
            progress(done, total)

    if not rows:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
        raise CorpusError(
            f"no usable {corpus} speech clips under {root} ({len(skipped)} files skipped: {reasons})"
        )
    rows.sort(key=lambda row: row["path"])
    for row, original in zip(rows, _mark_duplicates([row["path"] for row in rows])):
        row["duplicate_of"] = original
    skipped.sort(key=lambda item: item.path)
    return CorpusIndex(corpus=corpus, clips=_as_table(rows), skipped=skipped)


def _labelled_row(file: Path, corpus: str, labels: dict, *, probe_audio: bool, skipped: list) -> dict | None:
    """One table row, or None (and a SkippedFile appended) when the audio is unusable."""
    try:
        size_bytes = file.stat().st_size
    except OSError as error:
        skipped.append(SkippedFile(str(file), f"cannot be read: {error.strerror or error}"))
        return None
    if size_bytes == 0:
        skipped.append(SkippedFile(str(file), "empty file (0 bytes)"))
        return None
    audio = {"duration_s": float("nan"), "sample_rate": pd.NA, "channels": pd.NA}
    if probe_audio:
        probed, reason = _probe(file)
        if probed is None:
            skipped.append(SkippedFile(str(file), reason))
            return None
        audio = probed
    return {"path": str(file), "corpus": corpus, **labels, **audio, "duplicate_of": None}


def summarize(index: CorpusIndex) -> dict:
    """Return the JSON-ready summary: corpus, n_clips, n_actors, by_emotion and skipped."""
    counts = index.clips["emotion"].value_counts()
    order = [name for name in ALL_EMOTIONS if name in counts.index]
    order += sorted(set(counts.index) - set(order))
    return {
        "corpus": index.corpus,
        "n_clips": int(len(index.clips)),
        "n_actors": int(index.clips["actor"].nunique()),
        "by_emotion": {name: int(counts[name]) for name in order},
        "skipped": [{"path": item.path, "reason": item.reason} for item in index.skipped],
    }
