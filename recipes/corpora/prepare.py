"""Lay the public acted emotional-speech corpora out as 16 kHz clips and one manifest each.

Every fact about a corpus (repository, commit, folder, how a file name gives its label and
speaker, the label map onto the harmonised labels, speakers, language, licence, citation)
lives in ``corpora.json`` next to this file; this script only applies it.

Corpora come from repository snapshots brought here with the ``fetch`` tool (git
directories under ``--mirror-root``, read with ``git ls-tree``/``git cat-file`` at the
commit ``corpora.json`` names) or, for RAVDESS, from a local folder (``--ravdess``).
Each clip is decoded with :func:`ser_core.audio.decode.load_audio` (mono, soxr HQ
resampling to 16 kHz) and written as 16-bit PCM WAV. The output folder holds:

* ``<corpus>/...``: the clips, at their path below the corpus's source folder;
* ``<corpus>.csv`` and ``all.csv``: ``path,label,speaker,corpus,language,gender``, paths
  relative to the manifest, harmonised labels only, speakers written ``corpus:id``;
* ``excluded.csv``: every clip left out, with the reason;
* ``sources.csv``: where each written clip came from (source, sha256, format, rate);
* ``summary.json``: counts per corpus, label and speaker, and the exclusions by reason.

Same inputs, same output: files are visited in sorted order and nothing is random.

Examples
--------
From the project root::

    python -m recipes.corpora.prepare --mirror-root /work/.mirror \\
        --ravdess ../shared/data/ravdess-16k --out /work/corpora
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a file: make the project's ser_core importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ser_core.errors import CorpusError, SERError  # noqa: E402

CONFIG = Path(__file__).with_name("corpora.json")
MANIFEST_COLUMNS = ("path", "label", "speaker", "corpus", "language", "gender")
EXCLUDED_COLUMNS = ("corpus", "source", "reason")
SOURCE_COLUMNS = ("path", "corpus", "source", "sha256", "source_format", "source_sample_rate",
                  "source_channels", "n_samples", "clipped_samples", "notes")
#: What a Git LFS pointer file starts with (the audio itself is not in the snapshot).
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
#: File suffixes read as clips; other files in a corpus folder (README.md) are not clips.
CLIP_SUFFIXES = (".wav",)


class PrepareError(CorpusError):
    """A corpus cannot be prepared as corpora.json describes it (missing snapshot, wrong commit, bad config)."""


@dataclass
class Source:
    """One file of a corpus: its path below the corpus folder, where it came from, and its bytes."""

    relative: str
    origin: str
    data: bytes | None
    missing: str | None = None


@dataclass
class Result:
    """What preparing the corpora produced: manifest rows, exclusions and provenance rows."""

    rows: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    sources: list = field(default_factory=list)


# ---------------------------------------------------------------- configuration


def load_config(path=CONFIG) -> dict:
    """Read corpora.json and check that every label map lands in the harmonised label space."""
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    labels = set(config["labels"])
    for key, corpus in config["corpora"].items():
        if not re.fullmatch(r"[a-z0-9-]+", key):
            raise PrepareError(f"corpus key {key!r} in {path}; expected lowercase letters, digits and '-'")
        outside = {target for target in corpus["label_map"].values() if target is not None} - labels
        if outside:
            raise PrepareError(f"{key}: label map targets {sorted(outside)} are not harmonised labels "
                               f"{config['labels']}")
        groups = re.compile(corpus["pattern"]).groupindex
        if "label" not in groups or "speaker" not in groups:
            raise PrepareError(f"{key}: pattern {corpus['pattern']!r} needs the groups 'label' and 'speaker'")
        source = corpus["source"]
        if "local" not in source and not {"repo", "commit", "folder"} <= set(source):
            raise PrepareError(f"{key}: source {source} needs 'local' or 'repo', 'commit' and 'folder'")
    return config


# ---------------------------------------------------------------- reading sources


def is_clip(name: str) -> bool:
    """True for a file read as a clip (its suffix); a corpus folder's README and the like are not clips."""
    return name.lower().endswith(CLIP_SUFFIXES)


def git_dir(mirror_root, repo: str) -> Path:
    """The git directory ``fetch`` made for ``owner/name`` under ``mirror_root`` (``owner+name/repo``)."""
    base = Path(mirror_root) / repo.replace("/", "+")
    for candidate in (base / "repo", base / "repo" / ".git", base, base / ".git"):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    raise PrepareError(f"no snapshot of {repo} under {mirror_root} (looked for {base}/repo); bring it with the "
                       f"fetch tool (github:{repo})")


def _git(directory: Path, *args: str) -> bytes:
    done = subprocess.run(["git", f"--git-dir={directory}", *args], capture_output=True)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise PrepareError(f"git {' '.join(args)} failed in {directory}: {message}")
    return done.stdout


def read_snapshot(directory: Path, *, commit: str, folder: str, repo: str):
    """The clips under ``folder`` at ``commit``: checks the commit and lists them now, yields a :class:`Source` each.

    Raises PrepareError when the snapshot lacks the commit or the folder holds no clips.
    """
    try:
        found = _git(directory, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").decode().strip()
    except PrepareError:
        found = ""
    if found != commit:
        raise PrepareError(f"the snapshot of {repo} at {directory} lacks commit {commit} named in corpora.json; "
                           "fetch it again or correct corpora.json")
    prefix = "" if folder.strip("/") in ("", ".") else folder.rstrip("/") + "/"  # "." : the repository's root
    entries = []
    for record in _git(directory, "ls-tree", "-r", "-z", commit, *(("--", prefix) if prefix else ())).split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        _, kind, sha = meta.decode().split()
        if kind == "blob" and is_clip(path.decode("utf-8")):
            entries.append((path.decode("utf-8"), sha))
    if not entries:
        raise PrepareError(f"{repo} at {commit[:12]} has no clips ({', '.join(CLIP_SUFFIXES)}) under {folder!r}")
    origins = [(path[len(prefix):], f"github:{repo}@{commit}:{path}", sha) for path, sha in sorted(entries)]
    return _read_blobs(directory, origins)


def _read_blobs(directory: Path, origins):
    """Yield a :class:`Source` per ``(relative, origin, blob sha)``, reading the blobs with one ``git cat-file``."""
    batch = subprocess.Popen(["git", f"--git-dir={directory}", "cat-file", "--batch"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        for relative, origin, sha in origins:
            batch.stdin.write(f"{sha}\n".encode())
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if len(header) < 3 or header[1] == b"missing":
                yield Source(relative, origin, None,
                             "blob absent from the snapshot (files of 4 MiB and more are not kept)")
                continue
            data = batch.stdout.read(int(header[2]))
            batch.stdout.read(1)  # the newline after each object
            yield Source(relative, origin, data)
    finally:
        batch.stdin.close()
        batch.wait()


def read_folder(root: Path, *, name: str):
    """Yield a :class:`Source` per file below a local folder, in sorted order."""
    root = Path(root)
    if not root.is_dir():
        raise PrepareError(f"{name} folder {root} does not exist; pass --{name} with the corpus folder")
    for file in sorted(path for path in root.rglob("*") if path.is_file() and is_clip(path.name)):
        relative = file.relative_to(root).as_posix()
        yield Source(relative, f"{root.name}/{relative}", file.read_bytes())


# ---------------------------------------------------------------- one clip


def parse_name(relative: str, corpus: dict) -> tuple[str | None, str | None, str | None]:
    """``(label, speaker, None)`` read from a clip's path below its corpus folder, or ``(None, None, reason)``."""
    match = re.fullmatch(corpus["pattern"], relative)
    if match is None:
        return None, None, "name does not follow the corpus's naming (its pattern in corpora.json)"
    raw, speaker = match["label"], match["speaker"]
    if raw not in corpus["label_map"]:
        return None, None, f"label {raw!r} has no entry in the label map"
    label = corpus["label_map"][raw]
    if label is None:
        return None, None, f"label {raw!r} is outside the harmonised label space"
    second = match.groupdict().get("label2")
    if second is not None and corpus["label_map"].get(second) != label:
        return None, None, f"the folder says {raw!r} but the file name says {second!r}"
    if speaker in corpus.get("held_back_speakers", {}):
        return None, None, f"speaker {speaker} is held back: {corpus['held_back_speakers'][speaker]}"
    if speaker not in corpus["speakers"]:
        return None, None, f"speaker {speaker!r} is not among the corpus's speakers in corpora.json"
    return label, speaker, None


def container(data: bytes) -> str:
    """The audio container a file's first bytes announce (WAV, AIFF, FLAC, ...), or 'unknown'."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "WAV"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if data[:4] == b"fLaC":
        return "FLAC"
    return "unknown"


def convert(data: bytes, *, sample_rate: int) -> tuple[np.ndarray, dict]:
    """Decode encoded audio to 16-bit mono samples at ``sample_rate`` Hz, with what the source was.

    Raises ValueError (any decode problem, as ser_core reports it) for audio that cannot be read.
    """
    import soundfile

    from ser_core.audio.decode import load_audio

    info = {"source_format": container(data), "source_sample_rate": "", "source_channels": "", "notes": ""}
    try:
        header = soundfile.info(io.BytesIO(data))
        info["source_sample_rate"], info["source_channels"] = header.samplerate, header.channels
    except (RuntimeError, soundfile.LibsndfileError):
        pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = load_audio(bytes(data), sample_rate=sample_rate)
    info["notes"] = "; ".join(sorted({str(w.message) for w in caught}))
    scaled = np.round(y.astype(np.float64) * 32768.0)
    info["clipped_samples"] = int(np.count_nonzero((scaled > 32767) | (scaled < -32768)))
    return np.clip(scaled, -32768, 32767).astype(np.int16), info


def write_wav(path: Path, samples: np.ndarray, *, sample_rate: int) -> None:
    """Write int16 mono samples as a 16-bit PCM WAV file."""
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, sample_rate, subtype="PCM_16", format="WAV")


# ---------------------------------------------------------------- corpora


def corpus_sources(key: str, corpus: dict, *, mirror_root, local: dict):
    """The files of one corpus, from its snapshot or its local folder."""
    source = corpus["source"]
    if "local" in source:
        folder = local.get(source["local"])
        if folder is None:
            raise PrepareError(f"{key} is read from a local folder; pass --{source['local']} with its path")
        return read_folder(folder, name=source["local"])
    directory = git_dir(mirror_root, source["repo"])
    return read_snapshot(directory, commit=source["commit"], folder=source["folder"], repo=source["repo"])


def prepare_corpus(key: str, corpus: dict, *, out: Path, sample_rate: int, sources, seen: dict,
                   result: Result, log=print) -> None:
    """Convert one corpus's clips into ``out/key/`` and add its rows, exclusions and provenance to ``result``."""
    started, kept = time.perf_counter(), 0
    for source in sources:
        reason = label = speaker = None
        if source.missing:
            reason = source.missing
        elif source.data.startswith(LFS_POINTER):
            reason = "Git LFS pointer: the audio is not in the snapshot"
        else:
            label, speaker, reason = parse_name(source.relative, corpus)
        if reason is None:
            try:
                samples, info = convert(source.data, sample_rate=sample_rate)
            except (SERError, ValueError, RuntimeError, OSError) as error:
                reason = f"unreadable ({container(source.data)} container): {error}"
        relative = f"{key}/{source.relative}"
        if reason is None:
            digest = hashlib.sha256(samples.tobytes()).hexdigest()
            if digest in seen:
                reason = f"duplicate: the same samples as {seen[digest]}"
        if reason is not None:
            result.excluded.append({"corpus": key, "source": source.origin, "reason": reason})
            continue
        seen[digest] = relative
        write_wav(out / relative, samples, sample_rate=sample_rate)
        result.rows.append({"path": relative, "label": label, "speaker": f"{key}:{speaker}", "corpus": key,
                            "language": corpus["language"], "gender": corpus["speakers"][speaker]})
        result.sources.append({"path": relative, "corpus": key, "source": source.origin,
                               "sha256": hashlib.sha256(source.data).hexdigest(), "n_samples": len(samples),
                               **info})
        kept += 1
    log(f"{key}: {kept} clips in {time.perf_counter() - started:.1f} s")


def prepare(config: dict, *, out, mirror_root=None, local=None, only=None, log=print) -> Result:
    """Write every corpus in ``config`` (or those in ``only``) under ``out``; return what was written and left out.

    ``out`` must not exist yet (see :func:`main` for replacing an earlier output).
    """
    keys = list(config["corpora"]) if only is None else list(only)
    unknown = sorted(set(keys) - set(config["corpora"]))
    if unknown:
        raise PrepareError(f"unknown corpora {unknown}; corpora.json has {sorted(config['corpora'])}")
    out = Path(out)
    out.mkdir(parents=True)
    result, seen = Result(), {}
    for key in sorted(keys):
        corpus = config["corpora"][key]
        sources = corpus_sources(key, corpus, mirror_root=mirror_root, local=local or {})
        prepare_corpus(key, corpus, out=out, sample_rate=config["sample_rate"], sources=sources, seen=seen,
                       result=result, log=log)
    write_outputs(out, config, result, keys=sorted(keys))
    return result


# ---------------------------------------------------------------- outputs


def _write_csv(path: Path, columns, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def summarize(config: dict, result: Result, *, keys) -> dict:
    """Counts per corpus, label and speaker, and the exclusions by corpus and reason (JSON-ready)."""
    corpora = {}
    for key in keys:
        rows = [row for row in result.rows if row["corpus"] == key]
        corpus = config["corpora"][key]
        reasons = Counter(_reason_kind(item["reason"]) for item in result.excluded if item["corpus"] == key)
        corpora[key] = {
            "clips": len(rows),
            "speakers": len({row["speaker"] for row in rows}),
            "by_label": {label: n for label in config["labels"]
                         if (n := sum(row["label"] == label for row in rows))},
            "by_speaker": dict(sorted(Counter(row["speaker"] for row in rows).items())),
            "by_gender": dict(sorted(Counter(row["gender"] for row in rows).items())),
            "excluded": dict(sorted(reasons.items())),
            "language": corpus["language"],
            "licence": corpus["licence"],
            "source": {name: value for name, value in corpus["source"].items() if name != "note"},
        }
    labels = Counter(row["label"] for row in result.rows)
    return {
        "labels": config["labels"],
        "sample_rate": config["sample_rate"],
        "clips": len(result.rows),
        "speakers": len({row["speaker"] for row in result.rows}),
        "excluded": len(result.excluded),
        "by_label": {label: labels[label] for label in config["labels"] if labels[label]},
        "corpora": corpora,
    }


def _reason_kind(reason: str) -> str:
    """An exclusion reason without its clip-specific detail, for counting."""
    return reason.split(":")[0]


def write_outputs(out: Path, config: dict, result: Result, *, keys) -> None:
    """Write the manifests, excluded.csv, sources.csv and summary.json, each sorted."""
    result.rows.sort(key=lambda row: row["path"])
    result.sources.sort(key=lambda row: row["path"])
    result.excluded.sort(key=lambda row: (row["corpus"], row["source"]))
    for key in keys:
        _write_csv(out / f"{key}.csv", MANIFEST_COLUMNS, [row for row in result.rows if row["corpus"] == key])
    _write_csv(out / "all.csv", MANIFEST_COLUMNS, result.rows)
    _write_csv(out / "excluded.csv", EXCLUDED_COLUMNS, result.excluded)
    _write_csv(out / "sources.csv", SOURCE_COLUMNS, result.sources)
    summary = summarize(config, result, keys=keys)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    """Command line: prepare the corpora into --out (replacing an earlier output with --force)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"),
                        help="folder holding the fetched snapshots as owner+name/repo (default: %(default)s)")
    parser.add_argument("--ravdess", type=Path, help="RAVDESS speech folder, Actor_XX/03-01-*.wav (actors 01-20)")
    parser.add_argument("--out", type=Path, default=Path("/work/corpora"), help="output folder (default: %(default)s)")
    parser.add_argument("--config", type=Path, default=CONFIG, help="corpora.json (default: the one beside this file)")
    parser.add_argument("--corpora", nargs="+", help="prepare only these corpora (default: every one in the config)")
    parser.add_argument("--force", action="store_true", help="replace --out when it exists")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        out = args.out.expanduser().absolute()
        if out.exists() and not args.force:
            raise PrepareError(f"{out} exists; pass --force to replace it")
        partial = out.with_name(out.name + ".partial")
        if partial.exists():
            shutil.rmtree(partial)
        started = time.perf_counter()
        try:
            result = prepare(config, out=partial, mirror_root=args.mirror_root,
                             local={"ravdess": args.ravdess}, only=args.corpora)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(result.rows)} clips of {len({row['speaker'] for row in result.rows})} speakers written to {out} "
          f"({len(result.excluded)} left out, listed in excluded.csv) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
