"""Tests for ser_core.data.layouts: folder-per-label trees, manifests and label maps."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_core.data.index import index_corpus, summarize
from ser_core.data.layouts import read_label_map
from ser_core.data.layouts import apply_label_map, read_manifest
from ser_core.errors import CorpusError

SAMPLE_RATE = 16000


def write_clip(path: Path, *, seed=0, duration_s=0.25):
    """A short noise burst (distinct content per seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sf.write(path, (0.1 * rng.standard_normal(int(duration_s * SAMPLE_RATE))).astype(np.float32), SAMPLE_RATE)
    return path


def make_tree(root: Path, names) -> Path:
    for seed, name in enumerate(names):
        write_clip(root / name, seed=seed)
    return root


# ---------------------------------------------------------------- folder per label


def test_folder_per_label_with_and_without_speaker_folders(tmp_path):
    make_tree(tmp_path, ["angry/a.wav", "angry/b.wav", "Freude/spk1/c.wav", "Freude/spk2/take/d.flac", "loose.wav"])
    (tmp_path / "angry" / "notes.txt").write_text("recorded in 2024")
    index = index_corpus(tmp_path)
    assert index.layout == "folders" and index.title == tmp_path.name
    clips = index.clips.set_index(index.clips["path"].map(lambda p: Path(p).relative_to(tmp_path).as_posix()))
    assert clips.loc["angry/a.wav", ["label", "speaker", "gender", "intensity"]].tolist() == \
        ["angry", "unknown", "unknown", "unspecified"]
    assert clips.loc["Freude/spk1/c.wav", ["label", "speaker"]].tolist() == ["Freude", "spk1"]
    assert clips.loc["Freude/spk2/take/d.flac", "speaker"] == "spk2"
    reasons = {Path(s.path).name: s.reason for s in index.skipped}
    assert "not inside a label folder" in reasons["loose.wav"] and "not an audio file" in reasons["notes.txt"]
    assert index.labels == ["angry", "Freude"]
    assert summarize(index)["n_speakers"] == 2  # "unknown" is not a speaker


def test_zipped_corpus_folder_reads_its_labels_not_its_name(tmp_path):
    tree = make_tree(tmp_path / "src", ["my-corpus/angry/a.wav", "my-corpus/sad/b.wav", "my-corpus/sad/c.wav"])
    archive = tmp_path / "my-corpus.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(tree.rglob("*.wav")):
            handle.write(path, path.relative_to(tree).as_posix())
    index = index_corpus(archive)
    assert index.layout == "folders" and sorted(index.clips["label"]) == ["angry", "sad", "sad"]


def test_known_namings_still_win_inside_label_like_folders(tmp_path):
    make_tree(tmp_path, ["wav/03a01Fa.wav", "wav/08b10Lc.wav", "other/16a05Wb.wav"])
    index = index_corpus(tmp_path)
    assert index.layout == "emodb" and set(index.clips["language"]) == {"de"}


def test_explicit_folders_layout_overrides_names(tmp_path):
    make_tree(tmp_path, ["happy/03a01Fa.wav", "sad/08b10Lc.wav"])
    assert sorted(index_corpus(tmp_path, layout="folders").clips["label"]) == ["happy", "sad"]


def test_flat_folder_without_known_names_or_label_folders_explains_both(tmp_path):
    make_tree(tmp_path, ["hello.wav", "world.wav"])
    with pytest.raises(CorpusError, match="known corpus naming.*one folder per label"):
        index_corpus(tmp_path)


# ---------------------------------------------------------------- manifests


def _manifest(tmp_path, rows, *, name="clips.csv", columns=("path", "label", "speaker", "split")):
    make_tree(tmp_path / "audio", ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"])
    frame = pd.DataFrame(rows, columns=list(columns))
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


GOOD_ROWS = [("audio/a.wav", "joy", "s1", "train"), ("audio/b.wav", "anger", "s1", "train"),
             ("./audio/c.wav", "sadness", "s2", "test"), ("audio/d.wav", "calm", "s2", "")]


@pytest.mark.parametrize("name", ["clips.csv", "clips.parquet"])
def test_manifest_with_relative_paths_and_four_labels(tmp_path, name):
    index = index_corpus(_manifest(tmp_path, GOOD_ROWS, name=name))
    assert index.layout == "manifest" and index.title == "clips" and index.skipped == []
    clips = index.clips.sort_values("path")
    assert list(clips["label"]) == ["joy", "anger", "sadness", "calm"]
    assert list(clips["speaker"]) == ["s1", "s1", "s2", "s2"]
    assert clips["split"].tolist()[:3] == ["train", "train", "test"] and pd.isna(clips["split"].iloc[3])
    assert all(Path(p).is_file() and Path(p).is_relative_to(tmp_path) for p in clips["path"])
    assert index.labels == ["calm", "anger", "joy", "sadness"]  # known emotions first


def test_a_manifest_gathering_several_corpora_keeps_each_clips_corpus(tmp_path):
    rows = [("audio/a.wav", "happy", "tess:OAF", "tess"), ("audio/b.wav", "sad", "tess:OAF", "tess"),
            ("audio/c.wav", "happy", "savee:DC", "savee"), ("audio/d.wav", "sad", "ravdess:01", "ravdess"),
            ("audio/e.wav", "sad", "ravdess:02", "")]  # no corpus: the manifest's own name
    index = index_corpus(_manifest(tmp_path, rows, name="all.csv", columns=("path", "label", "speaker", "corpus")))
    assert index.layout == "manifest" and index.title == "all" and index.notes == []
    assert index.clips.sort_values("path")["corpus"].tolist() == ["tess", "tess", "savee", "ravdess", "all"]
    assert index.corpora == ["all", "ravdess", "savee", "tess"]
    summary = summarize(index)
    assert summary["by_corpus"] == {"all": 1, "ravdess": 1, "savee": 1, "tess": 2}
    assert summary["n_speakers"] == 4 and (summary["layout"], summary["title"]) == ("manifest", "all")


def test_without_a_corpus_column_every_clip_is_of_the_index_itself(tmp_path):
    index = index_corpus(_manifest(tmp_path, GOOD_ROWS))
    assert set(index.clips["corpus"]) == {"clips"} and index.corpora == ["clips"]
    named = index_corpus(make_tree(tmp_path / "ravdess", ["03-01-05-01-01-01-01.wav", "03-01-01-01-01-01-02.wav"]))
    assert named.layout == "ravdess" and named.corpora == ["ravdess"]


# (row, reason fragment)
BAD_ROWS = [
    (("audio/missing.wav", "joy", "s1", "train"), "no file at"),
    (("audio/e.wav", "", "s1", "train"), "empty label"),
    (("", "joy", "s1", "train"), "empty path"),
    (("../outside.wav", "joy", "s1", "train"), "leaves the manifest's folder"),
    (("audio/../../outside.wav", "joy", "s1", "train"), "leaves the manifest's folder"),
    (("/etc/passwd", "joy", "s1", "train"), "leaves the manifest's folder"),
    (("audio/e.wav", "joy", "s1", "holdout"), "split 'holdout' is not train, validation or test"),
    (("audio/a.wav", "joy", "s1", "train"), "listed again (first on row 2)"),
    (("audio", "joy", "s1", "train"), "is a folder"),
]


@pytest.mark.parametrize("row, reason", BAD_ROWS, ids=[r[1] for r in BAD_ROWS])
def test_bad_manifest_rows_are_skipped_with_reasons(tmp_path, row, reason):
    index = index_corpus(_manifest(tmp_path, [*GOOD_ROWS, row]))
    assert len(index.clips) == 4
    (skipped,) = index.skipped
    assert reason in skipped.reason and "clips.csv row 6" in skipped.reason


def test_outside_paths_only_when_allowed(tmp_path):
    write_clip(tmp_path / "elsewhere" / "x.wav", seed=9)
    manifest = _manifest(tmp_path / "corpus", [*GOOD_ROWS, ("../elsewhere/x.wav", "joy", "s3", "test")])
    assert len(index_corpus(manifest).clips) == 4
    allowed = index_corpus(manifest, allow_outside=True)
    assert len(allowed.clips) == 5 and allowed.skipped == []


def test_unknown_columns_are_noted_and_missing_ones_refused(tmp_path):
    manifest = _manifest(tmp_path, [(*row, "x") for row in GOOD_ROWS],
                         columns=("path", "label", "speaker", "split", "mood_score"))
    index = index_corpus(manifest)
    assert "mood_score" in index.notes[0] and summarize(index)["notes"] == index.notes
    no_label = _manifest(tmp_path, [r[:1] + r[2:] for r in GOOD_ROWS], name="nolabel.csv",
                         columns=("path", "speaker", "split"))
    with pytest.raises(CorpusError, match="expected at least 'path' and 'label'"):
        index_corpus(no_label)
    empty = tmp_path / "empty.csv"
    empty.write_text("path,label\n")
    with pytest.raises(CorpusError, match="no rows"):
        read_manifest(empty)


def test_manifest_layout_needs_a_file(tmp_path):
    make_tree(tmp_path, ["angry/a.wav", "sad/b.wav"])
    with pytest.raises(CorpusError, match="needs the path of a CSV or Parquet file"):
        index_corpus(tmp_path, layout="manifest")


# ---------------------------------------------------------------- label maps


def test_label_map_renames_drops_and_leaves_the_rest(tmp_path):
    manifest = _manifest(tmp_path, GOOD_ROWS)
    index = index_corpus(manifest, label_map={"JOY": "happy", "anger": "angry", "calm": ""})
    assert sorted(index.clips["label"]) == ["angry", "happy", "sadness"]
    assert [s.reason for s in index.skipped] == ["label 'calm' is dropped by the label map"]


@pytest.mark.parametrize("name, text", [
    ("map.json", json.dumps({"Wut": "angry", "Langeweile": None, "Freude": "happy"})),
    ("map.csv", "from,to\nWut,angry\nLangeweile,\nFreude,happy\n"),
    ("bare.csv", "Wut,angry\nLangeweile\nFreude,happy\n"),
])
def test_label_map_files(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    mapping = read_label_map(path)
    assert mapping == {"Wut": "angry", "Langeweile": None, "Freude": "happy"}
    assert [apply_label_map(label, mapping) for label in ("wut", "Langeweile", "Trauer")] == ["angry", None, "Trauer"]


@pytest.mark.parametrize("name, text, message", [
    ("bad.json", "{not json", "not valid JSON"),
    ("list.json", "[1, 2]", "must be an object"),
    ("three.csv", "a,b,c\n", "two values"),
])
def test_bad_label_maps_raise(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CorpusError, match=message):
        read_label_map(path)


def test_real_clips_renamed_into_label_folders(tiny_ravdess, tmp_path):
    """RAVDESS clips renamed (their names say nothing) and sorted into <label>/<speaker>/ folders."""
    from ser_core.data.naming import PARSERS

    for number, path in enumerate(sorted(tiny_ravdess.rglob("*.wav"))):
        labels = PARSERS["ravdess"](path)
        target = tmp_path / "mine" / labels["label"] / f"speaker{labels['speaker']}" / f"take{number:03d}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    index = index_corpus(tmp_path / "mine")
    assert index.layout == "folders" and len(index.clips) == 48
    assert summarize(index)["n_speakers"] == 3 and len(index.labels) == 8
