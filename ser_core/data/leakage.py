"""Leakage checks for a corpus and a split: duplicate audio, shared speakers, speaker and class imbalance.

A test figure is only honest when nothing the model heard in training reappears in the
test: "the 92% was a leak". :func:`leakage_report` looks for

* **exact and near duplicates** of the same recording on both sides of the split
  (:mod:`ser_core.data.duplicates`: same bytes, or the same audio re-encoded, resampled or at
  another gain);
* **speakers on both sides** of the split (a random split shares every speaker);
* **one speaker dominating a class** (more than :data:`SPEAKER_DOMINANCE` of its clips:
  the model may learn the voice, not the emotion) and **class imbalance** (the largest
  class more than :data:`CLASS_IMBALANCE` times the smallest).

Findings are leaks (duplicates or speakers across the split), warnings or notes.
Training runs the check first (:func:`check_training_leakage`): a leak warns, or stops
the run with :class:`LeakageError` when asked.

Examples
--------
>>> from ser_core.data import index_corpus
>>> report = leakage_report(index_corpus("../shared/data/ravdess-16k"), spec="random")  # doctest: +SKIP
>>> [finding.kind for finding in report.leaks]  # doctest: +SKIP
['shared_speakers']
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ser_core.data.duplicates import NEAR_DUPLICATE_CORRELATION, Duplicates, find_duplicates
from ser_core.data.splits import speaker_keys
from ser_core.errors import InputError

#: What training does with a leak: warn (the default), stop, or skip the check.
LEAKAGE_MODES = ("warn", "stop", "off")
#: Share of a class's clips one speaker may hold before it is flagged.
SPEAKER_DOMINANCE = 0.5
#: Ratio of the largest to the smallest class from which the classes are flagged as imbalanced.
CLASS_IMBALANCE = 3.0
#: Classes with fewer clips than this are not checked for a dominating speaker.
MIN_CLASS_CLIPS = 5

UNKNOWN_SPEAKERS = {"unknown", "", "nan", "<NA>", "None"}


class LeakageError(InputError):
    """Training stopped because the leakage check found a leak (``ProtocolSettings(leakage="stop")``)."""


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
    """``path``, ``label``, ``speaker``, ``corpus`` (and ``split``, ``duplicate_of`` when known) of a CorpusIndex,
    Dataset or table (a table without ``corpus`` is one corpus)."""
    from ser_core.data.dataset import Dataset
    from ser_core.data.index import CorpusIndex

    if isinstance(data, Dataset):
        return pd.DataFrame({"path": list(data.paths), "label": data.labels.astype(str),
                             "speaker": data.speakers.astype(str), "corpus": data.corpora.astype(str)})
    clips = data.clips if isinstance(data, CorpusIndex) else pd.DataFrame(data)
    table = pd.DataFrame({"path": clips["path"].astype(str), "label": clips["label"].astype(str),
                          "speaker": clips["speaker"].astype(str),
                          "corpus": clips["corpus"].astype(str) if "corpus" in clips else ""})
    for column in ("split", "duplicate_of"):
        if column in clips:
            table[column] = clips[column].to_numpy()
    return table.reset_index(drop=True)


def split_clips(table: pd.DataFrame, spec) -> list:
    """The splits training would use on these clips, as ``[(train_idx, test_idx), ...]`` into ``table``.

    ``spec`` is a :class:`~ser_core.data.splits.SplitSpec` (``manifest``: the table's split
    column). As in training, byte-identical copies (``duplicate_of``) are left out of the
    split (:func:`ser_core.data.splits.split`) and follow their original.
    """
    from ser_core.data.splits import split

    if spec.protocol == "manifest":
        if "split" not in table or table["split"].isna().all():
            raise InputError("the corpus has no split column; the manifest protocol needs a manifest with a "
                             "split column (train, validation, test)")
        return split(spec, labels=table["label"].to_numpy(), declared=table["split"].tolist())
    copies = table["duplicate_of"].notna().to_numpy() if "duplicate_of" in table else np.zeros(len(table), bool)
    originals = np.flatnonzero(~copies)
    splits = split(spec, labels=table["label"].to_numpy()[originals], speakers=table["speaker"].to_numpy()[originals],
                   corpora=table["corpus"].to_numpy()[originals])
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
    speakers = clips["speaker"].dropna().astype(str)
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


def leakage_report(data, splits=None, *, spec=None, name: str | None = None, duplicates: Duplicates | None = None,
                   threshold: float = NEAR_DUPLICATE_CORRELATION, progress=None) -> LeakageReport:
    """Check a corpus and a split for leakage.

    Parameters
    ----------
    data : CorpusIndex, Dataset or table
        The clips (a table needs ``path``, ``label``, ``speaker``; ``corpus`` optional).
    splits : tuple or list, optional
        One ``(train_idx, test_idx)`` tuple of index arrays into the clips, or a list of
        them (one per fold). Default: the splits of ``spec``; with neither, only the
        corpus itself is checked.
    spec : SplitSpec or str, optional
        The protocol to split by (:func:`split_clips`); a name stands for its default
        settings (``"kfold"`` is ``SplitSpec("kfold")``).
    name : str, optional
        The name of the splits given (default: the spec's protocol).
    duplicates : Duplicates, optional
        Reuse :func:`find_duplicates` of the same clips (several protocols, one corpus).
    progress : callable, optional
        ``progress(done, total)`` while fingerprints are computed.

    Returns
    -------
    LeakageReport
    """
    from ser_core.data.dataset import Dataset
    from ser_core.data.index import CorpusIndex
    from ser_core.data.splits import SplitSpec

    table = clip_table(data)
    root = (data.root or None) if isinstance(data, (CorpusIndex, Dataset)) else None
    spec = SplitSpec(spec) if isinstance(spec, str) else spec
    if splits is None and spec is not None:
        splits = split_clips(table, spec)
    if isinstance(splits, tuple):
        splits = [splits]  # one (train_idx, test_idx) pair
    splits = [tuple(np.asarray(part, dtype=int) for part in pair) for pair in (splits or [])]
    sides = _sides(splits, len(table))
    duplicates = duplicates or find_duplicates(table["path"].tolist(), threshold=threshold, progress=progress)
    paths = [_relative(path, root) for path in table["path"]]
    exact, findings = _exact_duplicates(duplicates, paths, sides)
    near, found = _near_duplicates(duplicates, paths, sides)
    findings += found
    speakers = speaker_keys(table["speaker"], table["corpus"] if "corpus" in table else None)
    known = ~table["speaker"].isin(UNKNOWN_SPEAKERS).to_numpy()
    shared, found = _shared_speakers(speakers, known, sides)
    findings += found + _unknown_speakers(known)
    class_counts = _class_counts(table)
    dominance, found = _speaker_dominance(table["label"].to_numpy(), speakers, known, class_counts)
    findings += found + _class_imbalance(class_counts)
    return LeakageReport(n_clips=len(table), protocol=name or (spec.protocol if spec is not None else None),
                         n_folds=len(splits), exact_duplicates=exact, near_duplicates=near, shared_speakers=shared,
                         speaker_dominance=dominance, class_counts=class_counts, findings=findings)


def _exact_duplicates(duplicates: Duplicates, paths: list, sides: list) -> tuple[list, list]:
    """Groups of byte-identical files, and the findings: a leak when a group crosses the split, else a note."""
    exact = [{"paths": [paths[row] for row in rows], "crosses_split_in_folds": _crosses(rows, sides)}
             for rows in duplicates.exact]
    crossing = [group for group in exact if group["crosses_split_in_folds"]]
    findings = []
    if crossing:
        findings.append(Finding("exact_duplicates", "leak", f"{len(crossing)} group(s) of byte-identical files sit "
                                "on both sides of the split: the test hears clips it trained on",
                                [group["paths"] for group in crossing]))
    if len(exact) > len(crossing):
        findings.append(Finding("exact_duplicates", "note", f"{len(exact) - len(crossing)} group(s) of byte-identical "
                                "files on one side only (training keeps one copy of each)",
                                [group["paths"] for group in exact if not group["crosses_split_in_folds"]]))
    return exact, findings


def _near_duplicates(duplicates: Duplicates, paths: list, sides: list) -> tuple[list, list]:
    """Near-duplicate pairs, and the findings: a leak when a pair crosses the split, else a warning."""
    near = [{"a": paths[i], "b": paths[j], "correlation": r, "crosses_split_in_folds": _crosses((i, j), sides)}
            for i, j, r in duplicates.near]
    crossing = [pair for pair in near if pair["crosses_split_in_folds"]]
    findings = []
    if crossing:
        findings.append(Finding("near_duplicates", "leak", f"{len(crossing)} near-duplicate pair(s) (the same "
                                "recording re-encoded or at another gain) sit on both sides of the split",
                                [[pair["a"], pair["b"]] for pair in crossing]))
    if len(near) > len(crossing):
        findings.append(Finding("near_duplicates", "warning", f"{len(near) - len(crossing)} near-duplicate "
                                "pair(s) on one side: no leak, but each such clip counts twice",
                                [[pair["a"], pair["b"]] for pair in near if not pair["crosses_split_in_folds"]]))
    return near, findings


def _shared_speakers(speakers: np.ndarray, known: np.ndarray, sides: list) -> tuple[list, list]:
    """Per fold, the known speakers on both sides; a leak when there are any."""
    shared = []
    for number, side in enumerate(sides, start=1):
        both = sorted(set(speakers[(side == 1) & known]) & set(speakers[(side == 2) & known]))
        if both:
            shared.append({"fold": number, "speakers": both})
    if not shared:
        return shared, []
    worst = max(len(entry["speakers"]) for entry in shared)
    return shared, [Finding("shared_speakers", "leak", f"{worst} of {len(set(speakers[known]))} speakers are in both "
                            "training and test (in the worst fold): the figure rewards recognising voices; test on "
                            "speakers never heard in training (the kfold or holdout protocol)", shared)]


def _unknown_speakers(known: np.ndarray) -> list:
    """A warning when some or all clips name no speaker."""
    if not known.any():
        return [Finding("unknown_speakers", "warning", "no clip names its speaker, so nothing keeps one voice out of "
                        "both training and test; give speakers (a <label>/<speaker>/ folder level or a manifest "
                        "speaker column) and test on new speakers")]
    if not known.all():
        return [Finding("unknown_speakers", "warning", f"{int((~known).sum())} clips name no speaker; they cannot be "
                        "kept to one side of a speaker-independent split")]
    return []


def _class_counts(table: pd.DataFrame) -> dict:
    """Clips per label, in display order."""
    from ser_core.data.labels import label_order

    counts = Counter(table["label"].tolist())
    return {label: counts[label] for label in label_order(counts)}


def _speaker_dominance(labels: np.ndarray, speakers: np.ndarray, known: np.ndarray,
                       class_counts: dict) -> tuple[list, list]:
    """Classes where one speaker holds more than :data:`SPEAKER_DOMINANCE` of the clips (a warning)."""
    dominance = []
    if len(set(speakers[known])) >= 2:
        for label in class_counts:
            rows = (labels == label) & known
            if rows.sum() < MIN_CLASS_CLIPS:
                continue
            speaker, clips = Counter(speakers[rows].tolist()).most_common(1)[0]
            share = clips / int(rows.sum())
            if share > SPEAKER_DOMINANCE:
                dominance.append({"label": label, "speaker": speaker, "share": round(share, 3), "clips": clips})
    if not dominance:
        return dominance, []
    return dominance, [Finding("speaker_dominance", "warning", "one speaker holds most clips of " + ", ".join(
        f"{d['label']} ({d['speaker']}: {d['share']:.0%})" for d in dominance)
        + ": the model may learn that voice rather than the emotion", dominance)]


def _class_imbalance(class_counts: dict) -> list:
    """Warnings for classes more than :data:`CLASS_IMBALANCE` times apart and for labels with a single clip."""
    findings = []
    if not class_counts:
        return findings
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
    return findings


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


def check_training_leakage(dataset, *, specs, mode: str = "warn", test_set=None, progress=None) -> dict | None:
    """The leakage check training runs before fitting; returns what it found (None when ``mode == "off"``).

    Every split of ``specs`` (:class:`~ser_core.data.splits.SplitSpec` of the run's
    protocols on the training corpus) is checked on the training clips; with ``test_set``
    (the ``cross_corpus`` protocol's other corpus) the two corpora are checked for shared
    audio. The findings go to ``progress`` as one ``{"stage": "leakage check", ...}`` record.

    Raises
    ------
    LeakageError
        ``mode == "stop"`` and a leak was found.
    """
    if mode not in LEAKAGE_MODES:
        raise InputError(f"leakage is {mode!r}; expected one of {', '.join(LEAKAGE_MODES)}")
    if mode == "off":
        return None
    findings, leaks = [], []
    duplicates = find_duplicates(dataset.paths) if specs else None
    for spec in specs:
        report = leakage_report(dataset, spec=spec, duplicates=duplicates)
        findings += [{"protocol": spec.protocol, **asdict(finding)} for finding in report.findings]
        leaks += [f"{spec.protocol}: {finding.message}" for finding in report.leaks]
    if test_set is not None:
        found, crossing = _shared_audio(dataset, test_set)
        findings += found
        leaks += crossing
    summary = {"mode": mode, "ok": not leaks, "leaks": leaks, "findings": findings}
    if progress is not None:
        progress({"stage": "leakage check", **summary})
    if leaks and mode == "stop":
        raise LeakageError("the leakage check found " + "; ".join(leaks)
                           + " (train anyway with leakage='warn', the command line without --strict-leakage)")
    return summary


def _shared_audio(dataset, test_set) -> tuple[list, list]:
    """Duplicate findings between a training corpus and the corpus it is tested on, and the leaks among them."""
    both = pd.DataFrame({"path": [*dataset.paths, *test_set.paths],
                         "label": [*dataset.labels.tolist(), *test_set.labels.tolist()],
                         "speaker": ["unknown"] * (len(dataset.paths) + len(test_set.paths))})
    n_train = len(dataset.paths)
    report = leakage_report(both, [(np.arange(n_train), np.arange(n_train, len(both)))], name="cross_corpus")
    findings, leaks = [], []
    for finding in report.findings:
        if finding.kind in ("exact_duplicates", "near_duplicates"):
            findings.append({"protocol": "cross_corpus", **asdict(finding)})
            if finding.severity == "leak":
                leaks.append(f"cross_corpus: {finding.message} (the same audio is in both corpora)")
    return findings, leaks
