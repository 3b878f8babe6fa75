"""Leakage checks for a corpus and a split: duplicate audio, shared speakers, speaker and class imbalance.

A test figure is only honest when nothing the model heard in training reappears in the
test: "the 92% was a leak". :func:`leakage_report` looks for

* **exact duplicates**: files with the same bytes (content hash, :func:`ser_core.cache.hash_file`),
  such as RAVDESS actor 07's two identical takes;
* **near duplicates**: the same recording re-encoded, resampled or at another gain. Each
  clip's fingerprint is a coarse log-mel picture of its *preprocessed* signal (16 kHz,
  DC removed, trimmed at 20 dB, peak-normalised: so gain never matters): 24 mel bands up
  to 4 kHz (a telephone or 8-kHz copy keeps them), every 10 ms, in dB below the clip's
  peak floored at -50 dB. Two clips are near duplicates when their fingerprints correlate
  at :data:`NEAR_DUPLICATE_CORRELATION` (0.97) or more at the best shift within ±200 ms
  over at least 80% of the shorter clip. Measured on RAVDESS (``../shared/data``): an
  MP3, 8-kHz, 30-dB-noise or gain-changed copy correlates at 0.986 or more with its
  original, and the closest distinct clips (one actor's two takes of the same sentence
  and emotion) at 0.943 at most. Candidates are found first on a 100-ms grid
  (correlation :data:`CANDIDATE_CORRELATION` or more), so the check stays fast;
* **speakers on both sides** of the split (a random split shares every speaker);
* **one speaker dominating a class** (more than :data:`SPEAKER_DOMINANCE` of its clips:
  the model may learn the voice, not the emotion) and **class imbalance** (the largest
  class more than :data:`CLASS_IMBALANCE` times the smallest).

Findings are leaks (duplicates or speakers across the split), warnings or notes.
Training runs the check first (:func:`check_training_leakage`): a leak warns, or stops
the run with :class:`LeakageError` when asked.

Examples
--------
>>> from ser_core.corpus import index_corpus
>>> report = leakage_report(index_corpus("../shared/data/ravdess-16k"), protocol="random")  # doctest: +SKIP
>>> [finding.kind for finding in report.leaks]  # doctest: +SKIP
['shared_speakers']
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError

#: What training does with a leak: warn (the default), stop, or skip the check.
LEAKAGE_MODES = ("warn", "stop", "off")
#: Fingerprint correlation from which two clips count as near duplicates.
NEAR_DUPLICATE_CORRELATION = 0.97
#: Correlation on the coarse 100-ms grid from which a pair is compared in full.
CANDIDATE_CORRELATION = 0.75
#: Share of a class's clips one speaker may hold before it is flagged.
SPEAKER_DOMINANCE = 0.5
#: Ratio of the largest to the smallest class from which the classes are flagged as imbalanced.
CLASS_IMBALANCE = 3.0
#: Classes with fewer clips than this are not checked for a dominating speaker.
MIN_CLASS_CLIPS = 5

FINGERPRINT_SAMPLE_RATE = 16000
FINGERPRINT_BANDS = 24
FINGERPRINT_FMAX_HZ = 4000.0
FINGERPRINT_HOP_S = 0.010
FINGERPRINT_FLOOR_DB = 50.0
_FINGERPRINT_KEY = "fingerprint-v1-mel24-4k-10ms-50db"
_MAX_SHIFT_S = 0.2
_MIN_OVERLAP = 0.8
_GRID_FRAMES = 10  # 100-ms cells of the candidate grid
_GRID_CELLS = 60  # the grid covers the first 6 s
_GRID_SHIFTS = 2
_MIN_DURATION_RATIO = 0.8

UNKNOWN_SPEAKERS = {"unknown", "", "nan", "<NA>", "None"}


class LeakageError(InputError):
    """Training stopped because the leakage check found a leak (``TrainConfig(leakage="stop")``)."""


# ---------------------------------------------------------------- fingerprints


def fingerprint(y: np.ndarray, *, sample_rate: int = FINGERPRINT_SAMPLE_RATE) -> np.ndarray:
    """The near-duplicate fingerprint of one preprocessed clip: ``(frames, 24)`` dB below its peak, float16.

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> fingerprint(np.sin(2 * np.pi * 220 * t).astype(np.float32)).shape
    (101, 24)
    """
    import librosa

    hop = int(round(FINGERPRINT_HOP_S * sample_rate))
    n_fft = 2 ** math.ceil(math.log2(0.032 * sample_rate))  # 32-ms window: 512 samples at 16 kHz
    mel = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=sample_rate, n_fft=n_fft,
                                         hop_length=hop, n_mels=FINGERPRINT_BANDS, fmax=FINGERPRINT_FMAX_HZ, power=2.0)
    db = librosa.power_to_db(mel, ref=np.max, top_db=FINGERPRINT_FLOOR_DB)
    return db.T.astype(np.float16)


def _fingerprint_batch(items, cache_root):
    """Worker: ``(index, fingerprint or None)`` for ``(index, path, content hash)`` items, through the cache."""
    from .audio import PreprocessSettings, load_clip
    from .cache import FeatureCache
    from .errors import SERError

    settings = PreprocessSettings(sample_rate=FINGERPRINT_SAMPLE_RATE)
    cache = FeatureCache(cache_root) if cache_root is not None else None
    results = []
    for index, path, content_hash in items:
        array = cache.load(content_hash, spec_key=_FINGERPRINT_KEY, settings_key=settings.key) if cache else None
        if array is None:
            try:
                array = fingerprint(load_clip(path, settings=settings), sample_rate=settings.sample_rate)
            except (SERError, OSError):
                results.append((index, None))  # an unusable clip: indexing already says why
                continue
            if cache is not None:
                cache.save(content_hash, array, spec_key=_FINGERPRINT_KEY, settings_key=settings.key)
        results.append((index, array))
    return results


def corpus_fingerprints(paths, *, content_hashes=None, n_jobs=None, progress=None) -> list:
    """The fingerprint of every clip (None for a clip that cannot be loaded), in parallel and through the feature cache."""
    from .cache import FeatureCache
    from .features.corpus import n_workers

    cache = FeatureCache()
    paths = [os.fspath(path) for path in paths]
    hashes = content_hashes or [cache.content_hash(path) for path in paths]
    cache.save_hashes()
    items = list(zip(range(len(paths)), paths, hashes))
    out: list = [None] * len(paths)
    workers = n_workers(n_jobs)
    size = max(1, min(64, math.ceil(len(items) / max(1, workers * 4))))
    batches = [items[start:start + size] for start in range(0, len(items), size)]
    if workers == 1 or len(batches) < 2:
        results = (_fingerprint_batch(batch, str(cache.root)) for batch in batches)
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=workers, backend="loky", return_as="generator")(
            delayed(_fingerprint_batch)(batch, str(cache.root)) for batch in batches)
    done = 0
    for batch in results:
        for index, array in batch:
            out[index] = array
        done += len(batch)
        if progress is not None:
            progress(done, len(paths))
    return out


# ---------------------------------------------------------------- duplicates


@dataclass
class Duplicates:
    """Byte-identical groups and near-duplicate pairs among a list of clips (indices into it)."""

    exact: list = field(default_factory=list)
    """Groups (lists of indices, at least two) of files with the same content hash."""
    near: list = field(default_factory=list)
    """``(i, j, correlation)`` of near-duplicate pairs that are not byte-identical, ``i < j``."""


def _grid(prints) -> tuple[np.ndarray, np.ndarray]:
    """Every fingerprint on the coarse 100-ms grid (mean removed, zero-padded) and its length in frames."""
    grid = np.zeros((len(prints), _GRID_CELLS, FINGERPRINT_BANDS), dtype=np.float32)
    lengths = np.zeros(len(prints), dtype=int)
    for row, frames in enumerate(prints):
        if frames is None:
            continue
        lengths[row] = len(frames)
        cells = min(len(frames) // _GRID_FRAMES, _GRID_CELLS)
        if cells:
            coarse = frames[: cells * _GRID_FRAMES].astype(np.float32).reshape(cells, _GRID_FRAMES, -1).mean(axis=1)
            grid[row, :cells] = coarse - coarse.mean()
    return grid, lengths


def _unit(matrix: np.ndarray) -> np.ndarray:
    flat = matrix.reshape(len(matrix), -1)
    return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)


def _candidates(prints, *, block: int = 512) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, whose coarse grids correlate at CANDIDATE_CORRELATION or more at a small shift."""
    grid, lengths = _grid(prints)
    n = len(grid)
    base = _unit(grid)
    shifted = []
    for shift in range(-_GRID_SHIFTS, _GRID_SHIFTS + 1):
        moved = np.zeros_like(grid)
        if shift >= 0:
            moved[:, shift:] = grid[:, :_GRID_CELLS - shift]
        else:
            moved[:, :shift] = grid[:, -shift:]
        shifted.append(_unit(moved))
    pairs = []
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        best = np.max([base[rows] @ other.T for other in shifted], axis=0)
        best = np.maximum(best, np.max([other[rows] @ base.T for other in shifted], axis=0))
        i, j = np.nonzero(best >= CANDIDATE_CORRELATION)
        i = i + start
        keep = (i < j) & (lengths[i] > 0) & (lengths[j] > 0)
        i, j = i[keep], j[keep]
        ratio = np.minimum(lengths[i], lengths[j]) / np.maximum(lengths[i], lengths[j])
        keep = ratio >= _MIN_DURATION_RATIO
        pairs.append(np.stack([i[keep], j[keep]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=int)


def _aligned_correlation(prints, pairs: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair's fingerprints at the best shift within ±200 ms (overlap ≥ 80%)."""
    max_shift = int(round(_MAX_SHIFT_S / FINGERPRINT_HOP_S))
    if not len(pairs):
        return np.zeros(0)
    len_a = np.array([len(prints[i]) for i in pairs[:, 0]])
    len_b = np.array([len(prints[j]) for j in pairs[:, 1]])
    longest = int(max(len_a.max(), len_b.max()))
    count, bands = len(pairs), FINGERPRINT_BANDS
    A = np.zeros((count, longest + max_shift, bands), dtype=np.float32)
    B = np.zeros_like(A)
    for row, (i, j) in enumerate(pairs):
        A[row, :len_a[row]] = prints[i]
        B[row, :len_b[row]] = prints[j]

    def running(X):
        zero = np.zeros((count, 1))
        return (np.concatenate([zero, np.cumsum(X.sum(axis=2, dtype=np.float64), axis=1)], axis=1),
                np.concatenate([zero, np.cumsum((X * X).sum(axis=2, dtype=np.float64), axis=1)], axis=1))

    a1, a2 = running(A)
    b1, b2 = running(B)
    rows = np.arange(count)
    best = np.full(count, -1.0)
    for shift in range(-max_shift, max_shift + 1):
        if shift >= 0:
            sxy = np.einsum("ptb,ptb->p", A[:, shift:shift + longest], B[:, :longest]).astype(np.float64)
            n, start_a, start_b = np.minimum(len_a - shift, len_b), shift, 0
        else:
            sxy = np.einsum("ptb,ptb->p", A[:, :longest], B[:, -shift:-shift + longest]).astype(np.float64)
            n, start_a, start_b = np.minimum(len_a, len_b + shift), 0, -shift
        n = np.maximum(n, 0)
        sx = a1[rows, start_a + n] - a1[rows, start_a]
        sx2 = a2[rows, start_a + n] - a2[rows, start_a]
        sy = b1[rows, start_b + n] - b1[rows, start_b]
        sy2 = b2[rows, start_b + n] - b2[rows, start_b]
        m = np.maximum(n * bands, 1)
        covariance = sxy - sx * sy / m
        spread = np.sqrt(np.maximum(sx2 - sx * sx / m, 1e-9) * np.maximum(sy2 - sy * sy / m, 1e-9))
        r = np.where(n >= _MIN_OVERLAP * np.minimum(len_a, len_b), covariance / spread, -1.0)
        best = np.maximum(best, r)
    return best


def find_duplicates(paths, *, threshold: float = NEAR_DUPLICATE_CORRELATION, progress=None,
                    n_jobs=None) -> Duplicates:
    """Byte-identical groups and near-duplicate pairs among audio files (see the module's description)."""
    from .cache import FeatureCache

    paths = [os.fspath(path) for path in paths]
    cache = FeatureCache()
    hashes = [cache.content_hash(path) for path in paths]
    groups: dict[str, list[int]] = {}
    for index, content_hash in enumerate(hashes):
        groups.setdefault(content_hash, []).append(index)
    exact = [members for members in groups.values() if len(members) > 1]
    same_bytes = {index: members[0] for members in exact for index in members}
    prints = corpus_fingerprints(paths, content_hashes=hashes, progress=progress, n_jobs=n_jobs)
    pairs = _candidates(prints)
    pairs = np.array([(i, j) for i, j in pairs if same_bytes.get(i, i) != same_bytes.get(j, j)], dtype=int)
    if len(pairs):  # similar lengths side by side: less padding per chunk
        pairs = pairs[np.argsort([max(len(prints[i]), len(prints[j])) for i, j in pairs], kind="stable")]
    near = []
    for start in range(0, len(pairs), 256):
        chunk = pairs[start:start + 256]
        for (i, j), r in zip(chunk, _aligned_correlation(prints, chunk)):
            if r >= threshold:
                near.append((int(i), int(j), round(float(r), 4)))
    return Duplicates(exact=exact, near=sorted(near))


# ---------------------------------------------------------------- the report


@dataclass
class Finding:
    """One thing the check found: ``severity`` is ``leak``, ``warning`` or ``note``."""

    kind: str
    severity: str
    message: str
    details: list = field(default_factory=list)


@dataclass
class LeakageReport:
    """What :func:`leakage_report` found about one corpus and one split."""

    n_clips: int
    protocol: str | None
    n_folds: int
    exact_duplicates: list
    near_duplicates: list
    shared_speakers: list
    speaker_dominance: list
    class_counts: dict
    findings: list

    @property
    def leaks(self) -> list:
        """The findings that make a test figure dishonest."""
        return [finding for finding in self.findings if finding.severity == "leak"]

    @property
    def ok(self) -> bool:
        """True when no leak was found (warnings and notes may remain)."""
        return not self.leaks

    def to_dict(self) -> dict:
        """JSON-ready dict, with ``ok``."""
        return {**asdict(self), "ok": self.ok}


def clip_table(data) -> pd.DataFrame:
    """``path``, ``label``, ``speaker`` (and ``split``, ``duplicate_of`` when known) of a CorpusIndex, Dataset or table."""
    from .corpus import CorpusIndex
    from .dataset import Dataset

    if isinstance(data, Dataset):
        return pd.DataFrame({"path": list(data.paths), "label": data.labels.astype(str),
                             "speaker": data.groups.astype(str)})
    clips = data.clips if isinstance(data, CorpusIndex) else pd.DataFrame(data)
    table = pd.DataFrame({"path": clips["path"].astype(str), "label": clips["emotion"].astype(str),
                          "speaker": clips["actor"].astype(str)})
    for column in ("split", "duplicate_of"):
        if column in clips:
            table[column] = clips[column].to_numpy()
    return table.reset_index(drop=True)


def protocol_split(table: pd.DataFrame, protocol: str, *, n_folds: int = 5, seed: int = 42, test_size: float = 0.2,
                   test_actors=()) -> list:
    """The splits training would use on these clips, as ``[(train_idx, test_idx), ...]`` into ``table``.

    ``protocol``: ``random``, ``kfold``, ``holdout`` or ``manifest`` (the manifest's split
    column). As in training, byte-identical copies (``duplicate_of``) are left out of the
    split and follow their original.
    """
    from .splits import declared_split, protocol_splits

    if protocol == "manifest":
        if "split" not in table or table["split"].isna().all():
            raise InputError("the corpus has no split column; the manifest protocol needs a manifest with a "
                             "split column (train, validation, test)")
        return [declared_split(table["split"].tolist())]
    copies = table["duplicate_of"].notna().to_numpy() if "duplicate_of" in table else np.zeros(len(table), bool)
    originals = np.flatnonzero(~copies)
    splits = protocol_splits(protocol, labels=table["label"].to_numpy()[originals],
                             groups=table["speaker"].to_numpy()[originals], n_folds=n_folds, seed=seed,
                             test_size=test_size, test_actors=test_actors)
    position = {path: row for row, path in enumerate(table["path"])}
    follow = {row: position.get(str(table["duplicate_of"].iloc[row])) for row in np.flatnonzero(copies)}
    mapped = []
    for train_idx, test_idx in splits:
        train_rows, test_rows = set(originals[train_idx].tolist()), set(originals[test_idx].tolist())
        for row, original in follow.items():
            (train_rows if original in train_rows else test_rows if original in test_rows else set()).add(row)
        mapped.append((np.array(sorted(train_rows), dtype=int), np.array(sorted(test_rows), dtype=int)))
    return mapped


def default_protocol(index, *, n_folds: int = 5) -> str:
    """The split worth checking for a corpus: its manifest's split, else k-fold by speaker, else a random split."""
    clips = index.clips
    if "split" in clips and clips["split"].notna().any():
        return "manifest"
    speakers = clips["actor"].dropna().astype(str)
    return "kfold" if speakers[~speakers.isin(UNKNOWN_SPEAKERS)].nunique() >= n_folds else "random"


def _sides(splits, n: int) -> list[np.ndarray]:
    """Per split, each row's side: 1 train, 2 test, 0 neither."""
    sides = []
    for train_idx, test_idx in splits:
        side = np.zeros(n, dtype=int)
        side[np.asarray(train_idx, dtype=int)] = 1
        side[np.asarray(test_idx, dtype=int)] = 2
        sides.append(side)
    return sides


def _crosses(rows, sides) -> list[int]:
    """The folds (1-based) in which the rows sit on both sides."""
    return [number for number, side in enumerate(sides, start=1) if {1, 2} <= set(side[list(rows)].tolist())]


def _relative(path: str, root: str | None) -> str:
    if root:
        try:
            return os.path.relpath(path, root)
        except ValueError:
            pass
    return path


def leakage_report(data, splits=None, *, protocol: str | None = None, n_folds: int = 5, seed: int = 42,
                   test_size: float = 0.2, test_actors=(), duplicates: Duplicates | None = None,
                   threshold: float = NEAR_DUPLICATE_CORRELATION, progress=None) -> LeakageReport:
    """Check a corpus and a split for leakage.

    Parameters
    ----------
    data : CorpusIndex, Dataset or table
        The clips (a table needs ``path``, ``emotion``, ``actor``).
    splits : tuple or list, optional
        One ``(train_idx, test_idx)`` tuple of index arrays into the clips, or a list of
        them (one per fold). Default: the splits of ``protocol``; with neither, only the
        corpus itself is checked.
    protocol : str, optional
        ``random``, ``kfold``, ``holdout`` or ``manifest`` (:func:`protocol_split`); also
        names the splits given in the report.
    duplicates : Duplicates, optional
        Reuse :func:`find_duplicates` of the same clips (several protocols, one corpus).
    progress : callable, optional
        ``progress(done, total)`` while fingerprints are computed.

    Returns
    -------
    LeakageReport
    """
    from .corpus import CorpusIndex

    table = clip_table(data)
    root = data.root if isinstance(data, CorpusIndex) else None
    if splits is None and protocol is not None:
        splits = protocol_split(table, protocol, n_folds=n_folds, seed=seed, test_size=test_size,
                                test_actors=test_actors)
    if isinstance(splits, tuple):
        splits = [splits]  # one (train_idx, test_idx) pair
    splits = [tuple(np.asarray(part, dtype=int) for part in pair) for pair in (splits or [])]
    sides = _sides(splits, len(table))
    duplicates = duplicates or find_duplicates(table["path"].tolist(), threshold=threshold, progress=progress)
    paths = [_relative(path, root) for path in table["path"]]
    findings = []

    exact = [{"paths": [paths[row] for row in rows], "crosses_split_in_folds": _crosses(rows, sides)}
             for rows in duplicates.exact]
    crossing = [group for group in exact if group["crosses_split_in_folds"]]
    if crossing:
        findings.append(Finding("exact_duplicates", "leak", f"{len(crossing)} group(s) of byte-identical files sit "
                                "on both sides of the split: the test hears clips it trained on",
                                [group["paths"] for group in crossing]))
    if len(exact) > len(crossing):
        findings.append(Finding("exact_duplicates", "note", f"{len(exact) - len(crossing)} group(s) of byte-identical "
                                "files on one side only (training keeps one copy of each)",
                                [group["paths"] for group in exact if not group["crosses_split_in_folds"]]))
    near = [{"a": paths[i], "b": paths[j], "correlation": r, "crosses_split_in_folds": _crosses((i, j), sides)}
            for i, j, r in duplicates.near]
    near_crossing = [pair for pair in near if pair["crosses_split_in_folds"]]
    if near_crossing:
        findings.append(Finding("near_duplicates", "leak", f"{len(near_crossing)} near-duplicate pair(s) (the same "
                                "recording re-encoded or at another gain) sit on both sides of the split",
                                [[pair["a"], pair["b"]] for pair in near_crossing]))
    if len(near) > len(near_crossing):
        findings.append(Finding("near_duplicates", "warning", f"{len(near) - len(near_crossing)} near-duplicate "
                                "pair(s) on one side: no leak, but each such clip counts twice",
                                [[pair["a"], pair["b"]] for pair in near if not pair["crosses_split_in_folds"]]))

    speakers = table["speaker"].to_numpy()
    known = ~np.isin(speakers, list(UNKNOWN_SPEAKERS))
    shared = []
    for number, side in enumerate(sides, start=1):
        both = sorted(set(speakers[(side == 1) & known]) & set(speakers[(side == 2) & known]))
        if both:
            shared.append({"fold": number, "speakers": both})
    if shared:
        n_known = len(set(speakers[known]))
        worst = max(len(entry["speakers"]) for entry in shared)
        findings.append(Finding("shared_speakers", "leak", f"{worst} of {n_known} speakers are in both training and "
                                "test (in the worst fold): the figure rewards recognising voices; test on speakers "
                                "never heard in training (the kfold or holdout protocol)", shared))
    if not known.any():
        findings.append(Finding("unknown_speakers", "warning", "no clip names its speaker, so nothing keeps one voice "
                                "out of both training and test; give speakers (a <label>/<speaker>/ folder level or a "
                                "manifest speaker column) and test on new speakers"))
    elif not known.all():
        findings.append(Finding("unknown_speakers", "warning", f"{int((~known).sum())} clips name no speaker; they "
                                "cannot be kept to one side of a speaker-independent split"))

    counts = Counter(table["label"].tolist())
    from .labels import label_order

    class_counts = {label: counts[label] for label in label_order(counts)}
    dominance = []
    if len(set(speakers[known])) >= 2:
        for label in class_counts:
            rows = (table["label"].to_numpy() == label) & known
            if rows.sum() < MIN_CLASS_CLIPS:
                continue
            speaker, clips = Counter(speakers[rows].tolist()).most_common(1)[0]
            share = clips / int(rows.sum())
            if share > SPEAKER_DOMINANCE:
                dominance.append({"label": label, "speaker": speaker, "share": round(share, 3), "clips": clips})
    if dominance:
        findings.append(Finding("speaker_dominance", "warning", "one speaker holds most clips of " + ", ".join(
            f"{d['label']} ({d['speaker']}: {d['share']:.0%})" for d in dominance)
            + ": the model may learn that voice rather than the emotion", dominance))
    if class_counts:
        largest, smallest = max(class_counts.values()), min(class_counts.values())
        if smallest and largest / smallest > CLASS_IMBALANCE:
            findings.append(Finding("class_imbalance", "warning", f"the largest class has {largest / smallest:.1f} "
                                    f"times the clips of the smallest ({max(class_counts, key=class_counts.get)} "
                                    f"{largest}, {min(class_counts, key=class_counts.get)} {smallest}): read UAR, "
                                    "not accuracy", [class_counts]))
        rare = [label for label, count in class_counts.items() if count < 2]
        if rare:
            findings.append(Finding("class_imbalance", "warning", f"labels with a single clip cannot be both trained "
                                    f"and tested: {', '.join(rare)}", rare))
    return LeakageReport(n_clips=len(table), protocol=protocol, n_folds=len(splits), exact_duplicates=exact,
                         near_duplicates=near, shared_speakers=shared, speaker_dominance=dominance,
                         class_counts=class_counts, findings=findings)


def format_report(report: LeakageReport, *, title: str = "") -> str:
    """The report as text: one line per finding, leaks first."""
    split = (f"protocol {report.protocol}" + (f" ({report.n_folds} folds)" if report.n_folds > 1 else "")
             if report.protocol else "no split given (the corpus alone)")
    lines = [f"leakage check{': ' + title if title else ''} ({report.n_clips:,} clips; {split})"]
    order = {"leak": 0, "warning": 1, "note": 2}
    for finding in sorted(report.findings, key=lambda f: order[f.severity]):
        lines.append(f"  {finding.severity.upper():<8}{finding.message}")
        if finding.kind in ("exact_duplicates", "near_duplicates"):
            lines += [f"            {' = '.join(group)}" for group in finding.details[:5]]
            if len(finding.details) > 5:
                lines.append(f"            ... and {len(finding.details) - 5} more")
    lines.append("  no leak found" if report.ok else f"  {len(report.leaks)} leak(s) found")
    return "\n".join(lines)


def check_training_leakage(config, dataset, *, test_set=None, progress=None) -> dict | None:
    """The leakage check training runs before fitting; returns what it found (None when ``config.leakage == "off"``).

    Every within-corpus protocol of the config is checked on the training clips; the
    ``cross_corpus`` protocol is checked for audio shared between the two corpora. The
    findings go to ``progress`` as one ``{"stage": "leakage check", ...}`` record.

    Raises
    ------
    LeakageError
        ``config.leakage == "stop"`` and a leak was found.
    """
    if config.leakage == "off":
        return None
    protocols = [p for p in (config.protocol, *config.extra_protocols) if p != "cross_corpus"]
    findings, leaks = [], []
    if protocols:
        duplicates = find_duplicates(dataset.paths)
        for protocol in protocols:
            report = leakage_report(dataset, protocol=protocol, n_folds=config.n_folds, seed=config.seed,
                                    test_size=config.test_size, test_actors=config.test_actors, duplicates=duplicates)
            findings += [{"protocol": protocol, **asdict(finding)} for finding in report.findings]
            leaks += [f"{protocol}: {finding.message}" for finding in report.leaks]
    if test_set is not None:
        both = pd.DataFrame({"path": [*dataset.paths, *test_set.paths],
                             "emotion": [*dataset.labels.tolist(), *test_set.labels.tolist()],
                             "actor": ["unknown"] * (len(dataset.paths) + len(test_set.paths))})
        n_train = len(dataset.paths)
        split = [(np.arange(n_train), np.arange(n_train, len(both)))]
        report = leakage_report(both, split, protocol="cross_corpus")
        for finding in report.findings:
            if finding.kind in ("exact_duplicates", "near_duplicates"):
                findings.append({"protocol": "cross_corpus", **asdict(finding)})
                if finding.severity == "leak":
                    leaks.append(f"cross_corpus: {finding.message} (the same audio is in both corpora)")
    summary = {"mode": config.leakage, "ok": not leaks, "leaks": leaks, "findings": findings}
    if progress is not None:
        progress({"stage": "leakage check", **summary})
    if leaks and config.leakage == "stop":
        raise LeakageError("the leakage check found " + "; ".join(leaks)
                           + " (train anyway with leakage='warn', the command line without --strict-leakage)")
    return summary
