"""Corpora told apart by their layout, not their file names: a folder per label, or a manifest.

* ``folders``: ``<root>/<label>/<clip>``, or ``<root>/<label>/<speaker>/<clip>`` (deeper
  folders belong to that speaker). The first folder level names the label, the second,
  when there is one, the speaker. A corpus zipped with its own top folder
  (``my-corpus/angry/...``) reads the same.
* ``manifest``: a CSV or Parquet table with the columns ``path`` and ``label``, and
  optionally ``speaker``, ``corpus`` (the corpus each clip comes from, when one manifest
  gathers several), ``split`` (train, validation or test), ``gender`` and ``language``.
  Paths are relative to the manifest's folder. A path that leaves that
  folder (``..``, an absolute path) is skipped unless the caller allows it
  (``allow_outside=True``, the local CLI's ``--allow-outside``; never the dashboard).
  The check is on the written path, as folder indexing follows links inside a corpus.

Labels stay as the user wrote them (any set, any language). A label map
(:func:`read_label_map`: JSON ``{"from": "to"}`` or a CSV with columns ``from,to``)
renames them, e.g. ``Wut`` to ``angry`` so a German corpus meets a model trained on
RAVDESS; a label mapped to an empty value is dropped, and labels the map does not
name stay as they are.

Each lister returns a :class:`Listing`: labelled files plus every file or row left out
with the reason; :func:`ser_core.data.index.index_corpus` checks the audio of both
kinds the same way as for the known corpora.

Examples
--------
>>> from ser_core.data import index_corpus
>>> index_corpus("my-corpus/").layout  # angry/a.wav, calm/spk1/b.wav, ...  # doctest: +SKIP
'folders'
>>> index_corpus("my-corpus/clips.csv").layout  # path,label,speaker  # doctest: +SKIP
'manifest'
>>> index_corpus("/work/corpora/all.csv").corpora  # path,label,speaker,corpus  # doctest: +SKIP
['ravdess', 'savee', 'tess', 'turev']
>>> index_corpus("emodb/", label_map={"boredom": ""}).labels  # drop a label  # doctest: +SKIP
['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgust']
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from ser_core.errors import CorpusError

FOLDERS = "folders"
MANIFEST = "manifest"
#: Corpus layouts ``index_corpus(..., layout=...)`` accepts besides the known namings.
LAYOUTS = (FOLDERS, MANIFEST)
#: File suffixes read as a manifest.
MANIFEST_SUFFIXES = (".csv", ".parquet")
REQUIRED_COLUMNS = ("path", "label")
OPTIONAL_COLUMNS = ("speaker", "corpus", "split", "gender", "language")
#: The value of a speaker or gender nobody gave.
UNKNOWN = "unknown"
#: Split names a manifest may use, and the one each stands for.
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
               "val": "validation", "dev": "validation", "test": "test", "testing": "test", "eval": "test"}
#: Share of audio files that must lie in a label folder for a tree to be read as one.
FOLDER_SHARE = 0.75


@dataclass
class Listing:
    """Labelled files of one corpus before their audio is checked.

    ``layout`` is a known corpus's naming (``ravdess``, ...), ``folders`` or ``manifest``;
    ``entries`` are ``(file, labels)`` with labels keyed like the index columns
    (``label``, ``speaker``, ``corpus``, ...); ``skipped`` are ``(path, reason)`` of files and
    rows left out; ``notes`` say what was ignored without leaving a clip out.
    """

    layout: str
    root: Path
    entries: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def generic_labels(label: str, *, speaker=None, corpus=None, gender=None, language=None, split=None) -> dict:
    """The index columns of a clip that only has a label (and maybe speaker, corpus, gender, language, split).

    ``corpus`` None leaves the clip's corpus to the index (the corpus it was read as).
    """
    return {
        "label": label,
        "intensity": "unspecified",
        "statement": pd.NA,
        "repetition": pd.NA,
        "speaker": speaker or UNKNOWN,
        "corpus": corpus or None,
        "gender": gender or UNKNOWN,
        "language": language or pd.NA,
        "split": split or pd.NA,
    }


# ---------------------------------------------------------------- folder per label


def _label_parts(files, root: Path) -> tuple[Path, list[tuple]]:
    """The folder the labels are read under, and each file's path parts below it.

    A single top folder holding everything (a zipped corpus folder) is stepped into as
    long as every file stays at least two levels below it.
    """
    parts = [file.relative_to(root).parts for file in files]
    depth = 0
    while parts and all(len(p) - depth >= 3 for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    base = root.joinpath(*parts[0][:depth]) if depth else root
    return base, [p[depth:] for p in parts]


def looks_like_label_folders(files, root: Path) -> bool:
    """True when most audio files lie one or two folders below the root and those folders name at least two labels."""
    if not files:
        return False
    _, parts = _label_parts(files, root)
    inside = [p for p in parts if len(p) >= 2]
    return len(inside) >= FOLDER_SHARE * len(parts) and len({p[0] for p in inside}) >= 2


def list_label_folders(files, root: Path) -> Listing:
    """A :class:`Listing` of a folder-per-label tree: label from the first folder level, speaker from the second."""
    base, parts = _label_parts(files, root)
    listing = Listing(layout=FOLDERS, root=base)
    for file, rest in zip(files, parts):
        if len(rest) < 2:
            listing.skipped.append((str(file), "not inside a label folder; expected <label>/<clip> or "
                                                "<label>/<speaker>/<clip>"))
            continue
        speaker = rest[1] if len(rest) >= 3 else None
        listing.entries.append((file, generic_labels(rest[0].strip(), speaker=speaker)))
    return listing


# ---------------------------------------------------------------- manifest


def is_manifest(path) -> bool:
    """True when ``path`` is a file with a manifest suffix (.csv, .parquet)."""
    path = Path(path)
    return path.suffix.lower() in MANIFEST_SUFFIXES and path.is_file()


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except ImportError as error:
        raise CorpusError(f"cannot read the Parquet manifest {path}: {error}; install pyarrow or use a CSV") from None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise CorpusError(f"cannot read the manifest {path}: {error}") from None
    table.columns = [str(column).strip().lower() for column in table.columns]
    return table


def _cell(value) -> str:
    """A manifest cell as stripped text ('' for empty, None or NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _inside(relative: str) -> bool:
    """True when a relative path written in a manifest stays inside the manifest's folder."""
    parts = []
    for part in PurePosixPath(relative).parts:
        if part == "..":
            if not parts:
                return False
            parts.pop()
        elif part != ".":
            parts.append(part)
    return bool(parts)


def manifest_file(written: str, *, root: Path, allow_outside: bool) -> tuple[Path | None, str | None]:
    """The file a manifest row names, or the reason it cannot be used (outside the folder, missing)."""
    text = written.replace("\\", "/")  # a manifest written on Windows
    if not text:
        return None, "empty path"
    outside = PurePosixPath(text).is_absolute() or not _inside(text)
    if outside and not allow_outside:
        return None, (f"path {written!r} leaves the manifest's folder {root}; only files inside it are read "
                      "(the local command line reads others with --allow-outside)")
    file = Path(text) if PurePosixPath(text).is_absolute() else root / text
    if not file.exists():
        return None, f"no file at {file}"
    if not file.is_file():
        return None, f"{file} is a folder, not an audio file"
    return file, None


def read_manifest(path, *, allow_outside: bool = False) -> Listing:
    """A :class:`Listing` of the clips a CSV or Parquet manifest names.

    Rows with an empty path or label, a file that does not exist or lies outside the
    manifest's folder, an unknown split, or a path listed twice are left out with the
    reason. Columns other than :data:`REQUIRED_COLUMNS` and :data:`OPTIONAL_COLUMNS` are
    ignored and named in the listing's notes.

    Raises
    ------
    CorpusError
        The manifest cannot be read, is empty or lacks the ``path`` or ``label`` column.
    """
    path = Path(path).expanduser().absolute()
    table = _read_table(path)
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise CorpusError(f"manifest {path.name} has columns {list(table.columns)}; expected at least 'path' and "
                          f"'label' (optional: {', '.join(OPTIONAL_COLUMNS)})")
    if table.empty:
        raise CorpusError(f"manifest {path.name} has no rows; expected one row per clip")
    root = path.parent
    listing = Listing(layout=MANIFEST, root=root)
    unused = [column for column in table.columns if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unused:
        listing.notes.append(f"manifest columns {unused} are not used; known columns: "
                             f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}")
    first_row = {}
    for number, row in enumerate(table.to_dict("records"), start=2):  # row 1 is the header
        where = f"{path.name} row {number}"
        values = {column: _cell(row.get(column)) for column in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
        file, reason = manifest_file(values["path"], root=root, allow_outside=allow_outside)
        if file is None:
            listing.skipped.append((where if not values["path"] else str(root / values["path"]), f"{where}: {reason}"))
            continue
        key = os.path.normpath(file)
        if key in first_row:
            listing.skipped.append((str(file), f"{where}: listed again (first on row {first_row[key]})"))
            continue
        if not values["label"]:
            listing.skipped.append((str(file), f"{where}: empty label"))
            continue
        split = values["split"]
        if split and split.lower() not in SPLIT_NAMES:
            listing.skipped.append((str(file), f"{where}: split {split!r} is not train, validation or test"))
            continue
        first_row[key] = number
        listing.entries.append((file, generic_labels(
            values["label"], speaker=values["speaker"], corpus=values["corpus"], gender=values["gender"].lower(),
            language=values["language"], split=SPLIT_NAMES.get(split.lower()) if split else None)))
    return listing


# ---------------------------------------------------------------- label maps


def normalize_label_map(mapping) -> dict:
    """``{from: to}`` with stripped text; ``to`` is None for a label to drop. Raises CorpusError for bad entries."""
    if not isinstance(mapping, dict):
        raise CorpusError(f"a label map must be an object of 'from': 'to' labels, got {type(mapping).__name__}")
    clean = {}
    for source, target in mapping.items():
        source = _cell(source)
        if not source:
            raise CorpusError("a label map has an empty 'from' label; every entry needs the label it renames")
        if target is not None and not isinstance(target, (str, int, float)):
            raise CorpusError(f"label map entry {source!r}: expected a label or an empty value, got {target!r}")
        clean[source] = _cell(target) or None
    return clean


def read_label_map(path) -> dict:
    """Read a label map: a JSON object ``{"from": "to"}`` or a CSV with columns ``from,to`` (header optional).

    An empty ``to`` drops the label. Raises CorpusError when the file cannot be read.

    Examples
    --------
    >>> read_label_map("emodb-to-ravdess.json")  # doctest: +SKIP
    {'Wut': 'angry', 'Langeweile': None}
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"cannot read the label map {path}: {error}") from None
    if path.suffix.lower() == ".json":
        try:
            return normalize_label_map(json.loads(text))
        except ValueError as error:
            raise CorpusError(f"label map {path} is not valid JSON: {error}") from None
    import csv

    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == ["from", "to"]:
        rows = rows[1:]
    bad = [row for row in rows if len(row) not in (1, 2)]
    if bad:
        raise CorpusError(f"label map {path}: each line needs 'from,to' (two values), got {bad[0]}")
    return normalize_label_map({row[0]: row[1] if len(row) == 2 else "" for row in rows})


def as_label_map(label_map) -> dict:
    """A normalised label map from a mapping, a file path, or None (no renaming)."""
    if label_map is None:
        return {}
    if isinstance(label_map, (str, os.PathLike)):
        return read_label_map(label_map)
    return normalize_label_map(dict(label_map))


def apply_label_map(label: str, mapping: dict) -> str | None:
    """The label after the map (exact match first, then ignoring case); None when the map drops it."""
    if not mapping:
        return label
    if label in mapping:
        return mapping[label]
    folded = {source.casefold(): target for source, target in mapping.items()}
    return folded.get(label.casefold(), label)
