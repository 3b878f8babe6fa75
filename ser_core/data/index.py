"""Index a corpus folder (any depth), zip or manifest into a labelled table of usable clips.

A corpus is read by the naming convention of a known corpus (:mod:`.naming`), or by its
layout (:mod:`.layouts`): one folder per label, or a CSV/Parquet manifest. Files that
are not usable speech clips are skipped and reported with a reason; one bad file never
aborts an index. A clip counts as usable by the same rule feature extraction
applies (:func:`ser_core.audio.preprocess.clip_problem`): decodable, finite, not silent once its DC
offset is removed, and long enough after trimming silence.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ser_core.audio.preprocess import AUDIO_SUFFIXES
from ser_core.data.layouts import (FOLDERS, MANIFEST, UNKNOWN, Listing, apply_label_map, as_label_map, is_manifest,
                                   list_label_folders, looks_like_label_folders, read_manifest)
from ser_core.data.labels import label_order
from ser_core.data.naming import CORPORA, EXAMPLES, LANGUAGES, PARSERS, classify, naming_votes, normalize_corpus_name
from ser_core.errors import CorpusError

#: Columns of :attr:`CorpusIndex.clips`, in order. ``corpus`` is the corpus each clip comes
#: from (a manifest's ``corpus`` column, else the index's :attr:`CorpusIndex.title`).
COLUMNS = (
    "path",
    "corpus",
    "label",
    "intensity",
    "statement",
    "repetition",
    "speaker",
    "gender",
    "language",
    "split",
    "duration_s",
    "sample_rate",
    "channels",
    "duplicate_of",
)
#: A folder with more files than this is not indexed (point at the corpus folder itself).
MAX_FILES = 200_000

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the index, with the reason why."""

    path: str
    reason: str


@dataclass
class CorpusIndex:
    """The labelled clips of one corpus, the files that were skipped, and where it was read from.

    ``layout`` is how the clips were found: a known corpus's naming (``ravdess``, ...), one
    folder per label (``folders``) or a table (``manifest``). Each clip's own corpus is the
    ``corpus`` column of ``clips`` (:attr:`corpora`: a manifest may gather several).
    ``root`` is the folder paths are relative to; ``source`` the folder, zip or manifest
    the caller named; ``notes`` what was ignored without leaving a clip out.
    """

    layout: str
    clips: pd.DataFrame
    skipped: list[SkippedFile] = field(default_factory=list)
    root: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def title(self) -> str:
        """A short name for screens and reports: the known corpus, else the folder or manifest name."""
        return index_title(self.layout, self.source or self.root)

    @property
    def labels(self) -> list[str]:
        """The labels of the clips, in display order (:func:`ser_core.data.labels.label_order`)."""
        return label_order(self.clips["label"].astype(str))

    @property
    def corpora(self) -> list[str]:
        """The corpora the clips come from, sorted (one for most indexes; several for a gathering manifest)."""
        return sorted(self.clips["corpus"].dropna().astype(str).unique())

    def relative(self, path) -> str:
        """A clip's path relative to the corpus folder (what a screen shows instead of a server path)."""
        try:
            return Path(path).relative_to(self.root).as_posix() if self.root else Path(path).name
        except ValueError:
            return Path(path).name


def index_title(layout: str, source) -> str:
    """The name of an index: the known corpus, else its folder or manifest name (``all.csv`` -> ``all``)."""
    if layout in CORPORA:
        return layout
    named = Path(source or "")
    return (named.stem if named.suffix else named.name) or layout


def _walk_files(root: Path) -> list[Path]:
    """Every regular file under root (following symlinked folders once), sorted; CorpusError beyond MAX_FILES."""
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
        if len(files) > MAX_FILES:
            raise CorpusError(f"more than {MAX_FILES:,} files under the chosen folder; choose the corpus folder itself")
    return sorted(files)


def _junk_reason(path: Path) -> str | None:
    """Why a file is not audio at all (None when it looks like audio)."""
    if "__MACOSX" in path.parts or path.name.startswith("._"):
        return "macOS metadata file, not audio"
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        suffix = path.suffix or "no suffix"
        return f"not an audio file ({suffix}); expected one of {', '.join(sorted(AUDIO_SUFFIXES))}"
    return None


def resolve_root(path) -> Path:
    """The folder to index: ``path`` itself, or the cached unpacked folder of a zip."""
    import zipfile

    from ser_core.data.archive import unpack_zip

    root = Path(path).expanduser()
    if not root.exists():
        raise CorpusError(f"corpus path {root} does not exist; expected a folder or a .zip")
    if root.is_file():
        if zipfile.is_zipfile(root):
            return unpack_zip(root)
        raise CorpusError(f"corpus path {root} is a file but not a zip; expected a folder or a .zip")
    return root


def _probe(path: Path) -> tuple[dict | None, str | None]:
    """Duration, sample rate and channels from the file header, or the reason it is unusable."""
    from ser_core.audio.preprocess import probe
    from ser_core.errors import AudioError, EmptyAudioError

    try:
        info = probe(path)
    except EmptyAudioError:
        return None, "audio file with no samples (0 frames)"
    except AudioError as error:
        detail = str(error).split(f"'{path}': ", 1)[-1].replace(f"'{path}' ", "the file ")
        return None, f"cannot be decoded as audio: {detail}"
    except OSError as error:
        return None, f"cannot be read: {error.strerror or error}"
    return {"duration_s": info.duration_s, "sample_rate": info.sample_rate, "channels": info.channels}, None


class _ValidityMemo:
    """Remembers each file's verdict under the default preprocessing, by (path, size, mtime)."""

    def __init__(self):
        from ser_core.audio.preprocess import PreprocessSettings
        from ser_core.features.cache import default_cache_dir

        self.settings = PreprocessSettings()
        self.path = default_cache_dir() / "validity" / f"{self.settings.key}.json"
        try:
            self.known = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.dirty = False

    def problem(self, file: Path) -> str | None:
        from ser_core.audio.preprocess import clip_problem

        stat = file.stat()
        key = f"{os.path.realpath(file)}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in self.known:
            self.known[key] = clip_problem(file, settings=self.settings) or ""
            self.dirty = True
        return self.known[key] or None

    def save(self) -> None:
        if not self.dirty:
            return
        from ser_core import atomic

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic.write_json(self.path, self.known)
        except OSError:
            pass  # a read-only cache only costs time


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


def _as_table(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in COLUMNS})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["duration_s"] = table["duration_s"].astype("float64")
    for column in ("repetition", "sample_rate", "channels"):
        table[column] = table[column].astype("Int64")
    return table


def _named_listing(candidates: list[Path], root: Path, corpus: str) -> Listing:
    """A :class:`Listing` of files named after a known corpus's convention."""
    listing = Listing(layout=corpus, root=root)
    parser = PARSERS[corpus]
    for file in candidates:
        kind, payload = classify(file, parser)
        if kind == "foreign":
            listing.skipped.append((str(file), f"name does not follow the {corpus} naming (e.g. {EXAMPLES[corpus]})"))
        elif kind == "excluded":
            listing.skipped.append((str(file), payload))
        else:
            listing.entries.append((file, {**payload, "corpus": corpus, "language": LANGUAGES[corpus], "split": pd.NA}))
    return listing


def detect_layout(candidates: list[Path], root: Path) -> str:
    """The corpus or layout of a folder's audio files, conservatively.

    A known naming followed by at least half the files wins; else a folder-per-label
    tree; else the known naming most files follow. CorpusError when none fits.
    """
    votes = naming_votes(candidates)
    best, count = votes.most_common(1)[0] if votes else (None, 0)
    if best is not None and 2 * count >= len(candidates):
        return best
    if looks_like_label_folders(candidates, root):
        return FOLDERS
    if best is not None:
        return best
    examples = "; ".join(f"{name}: {example}" for name, example in EXAMPLES.items())
    raise CorpusError(
        f"none of {len(candidates)} audio file names follows a known corpus naming ({examples}), and they do not "
        "lie in one folder per label (<label>/<clip>.wav); point at a folder per label or at a CSV/Parquet "
        "manifest with columns path,label"
    )


def _folder_listing(root: Path, layout: str) -> Listing:
    """The listing of a folder: every file under it, junk skipped, read by naming or as label folders."""
    files = _walk_files(root)
    junk = []
    candidates = []
    for file in files:
        reason = _junk_reason(file)
        if reason is None:
            candidates.append(file)
        else:
            junk.append((str(file), reason))
    if not candidates:
        raise CorpusError(f"no audio files found in the chosen corpus folder ({len(files)} other files)")
    if layout == "auto":
        layout = detect_layout(candidates, root)
    listing = list_label_folders(candidates, root) if layout == FOLDERS else _named_listing(candidates, root, layout)
    listing.skipped = junk + listing.skipped
    return listing


def index_corpus(
    path,
    *,
    layout: str = "auto",
    label_map=None,
    allow_outside: bool = False,
    probe_audio: bool = True,
    check_audio: bool = True,
    progress: ProgressCallback | None = None,
) -> CorpusIndex:
    """Index the clips of a corpus folder (any depth), zip or manifest into a labelled table.

    Parameters
    ----------
    path : str or Path
        A folder holding the corpus at any depth, a ``.zip`` of it (unpacked once into the
        cache, within :class:`~ser_core.data.archive.ZipLimits`), or a CSV/Parquet manifest.
    layout : str
        ``"auto"`` (a manifest by its suffix; for a folder the naming most file names
        follow, else one folder per label), one of :data:`~ser_core.data.naming.CORPORA`,
        ``"folders"`` or ``"manifest"`` (:mod:`ser_core.data.layouts`).
    label_map : mapping, path or None
        Renames labels (``{"Wut": "angry"}``; an empty value drops the label), as a mapping
        or a JSON/CSV file (:func:`~ser_core.data.layouts.read_label_map`).
    allow_outside : bool
        Read manifest rows whose path leaves the manifest's folder (never in the dashboard).
    probe_audio, check_audio : bool
        Read each header; decode each clip to skip those feature extraction would refuse.
    progress : callable, optional
        ``progress(done, total)`` while files are examined.

    Returns
    -------
    CorpusIndex
        ``clips`` has the columns :data:`COLUMNS` sorted by path (``speaker`` is ``"unknown"``
        when nobody said; ``corpus`` a manifest's corpus column, else the index's title);
        ``skipped`` lists every file or manifest row left out with the reason.

    Examples
    --------
    >>> index_corpus("/work/corpora/all.csv").corpora  # doctest: +SKIP
    ['ravdess', 'savee', 'tess', 'turev']
    """
    named = Path(path).expanduser()
    listing = _listing(named, normalize_corpus_name(layout), allow_outside=allow_outside)
    memo = _ValidityMemo() if (check_audio and probe_audio) else None
    rows, skipped = _checked_rows(listing, as_label_map(label_map), probe_audio=probe_audio, memo=memo,
                                  progress=progress)
    if memo is not None:
        memo.save()
    if not rows:
        raise _nothing_usable(listing.layout, skipped)
    title = index_title(listing.layout, str(named))
    rows.sort(key=lambda row: row["path"])
    for row, original in zip(rows, _mark_duplicates([row["path"] for row in rows])):
        row["duplicate_of"] = original
        row["corpus"] = row.get("corpus") or title
    skipped.sort(key=lambda item: item.path)
    return CorpusIndex(layout=listing.layout, clips=_as_table(rows), skipped=skipped, root=str(listing.root),
                       source=str(named), notes=list(listing.notes))


def _listing(named: Path, layout: str, *, allow_outside: bool) -> Listing:
    """The listing of a manifest (by layout or suffix) or of a folder or zip."""
    if layout == MANIFEST or (layout == "auto" and is_manifest(named)):
        if named.is_dir():
            raise CorpusError(f"{named} is a folder; the manifest layout needs the path of a CSV or Parquet file")
        if not named.is_file():
            raise CorpusError(f"manifest {named} does not exist; expected a CSV or Parquet file")
        return read_manifest(named, allow_outside=allow_outside)
    return _folder_listing(resolve_root(named).absolute(), layout)


def _checked_rows(listing: Listing, mapping: dict, *, probe_audio: bool, memo, progress) -> tuple[list, list]:
    """Table rows of the listing's usable clips, and every file left out (:class:`SkippedFile`)."""
    skipped = [SkippedFile(where, reason) for where, reason in listing.skipped]
    rows = []
    total = len(listing.entries) + len(skipped)
    done = len(skipped)
    for file, labels in listing.entries:
        label = apply_label_map(labels["label"], mapping)
        junk = _junk_reason(file) if listing.layout == MANIFEST else None
        if label is None:
            skipped.append(SkippedFile(str(file), f"label {labels['label']!r} is dropped by the label map"))
        elif junk is not None:
            skipped.append(SkippedFile(str(file), junk))
        else:
            row = _labelled_row(file, {**labels, "label": label}, probe_audio=probe_audio, memo=memo, skipped=skipped)
            if row is not None:
                rows.append(row)
        done += 1
        if progress is not None:
            progress(done, total)
    return rows, skipped


def _nothing_usable(layout: str, skipped: list) -> CorpusError:
    """The error of an index with no usable clip, naming the first reasons."""
    reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
    what = f"{layout} speech clips" if layout in CORPORA else f"clips in the {layout} layout"
    return CorpusError(f"no usable {what} in the chosen {'manifest' if layout == MANIFEST else 'folder'} "
                       f"({len(skipped)} files skipped: {reasons})")


def _labelled_row(file: Path, labels: dict, *, probe_audio: bool, memo, skipped: list) -> dict | None:
    """One table row, or None (and a SkippedFile appended) when the audio is unusable."""
    try:
        size_bytes = file.stat().st_size
        if not os.access(file, os.R_OK):
            raise PermissionError(13, "permission denied")
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
        reason = memo.problem(file) if memo is not None else None
        if reason is not None:
            skipped.append(SkippedFile(str(file), reason))
            return None
    return {"path": str(file), **labels, **audio, "duplicate_of": None}


def summarize(index: CorpusIndex) -> dict:
    """Return the JSON-ready summary: layout, title, n_clips, n_speakers, by_label, by_corpus, skipped (and notes).

    ``n_speakers`` counts the known speakers, each within its corpus (a folder-per-label
    tree without speaker folders has none); ``by_corpus`` counts the clips of each corpus.
    """
    clips = index.clips
    counts = clips["label"].value_counts()
    known = clips[clips["speaker"].notna() & (clips["speaker"].astype(str) != UNKNOWN)]
    summary = {
        "layout": index.layout,
        "title": index.title,
        "n_clips": int(len(clips)),
        "n_speakers": int(len(known[["corpus", "speaker"]].astype(str).drop_duplicates())),
        "by_label": {name: int(counts[name]) for name in label_order(counts.index)},
        "by_corpus": {str(name): int(count) for name, count in clips["corpus"].value_counts().sort_index().items()},
        "skipped": [{"path": item.path, "reason": item.reason} for item in index.skipped],
    }
    if index.notes:
        summary["notes"] = list(index.notes)
    return summary
