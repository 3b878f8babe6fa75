"""Tests for ser_core.data.duplicates and ser_core.data.leakage: duplicate audio across a split, shared speakers, imbalance."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_core.audio.preprocess import resample
from ser_core.data.duplicates import Duplicates, find_duplicates, fingerprint
from ser_core.data.index import index_corpus
from ser_core.data.leakage import check_training_leakage, format_report, leakage_report, split_clips
from ser_core.data.splits import SplitSpec

IDENTICAL_07 = ("03-01-03-01-02-01-07.wav", "03-01-03-01-02-02-07.wav")
# One actor's two takes of one sentence and emotion: the closest distinct clips of RAVDESS.
TWO_TAKES = ("03-01-01-01-01-01-11.wav", "03-01-01-01-01-02-11.wav")


@pytest.fixture
def copies(tmp_path, ravdess_16k):
    """Real clips (actor 07's identical pair, two takes of actor 11, others) plus re-encoded and re-levelled copies."""
    folder = tmp_path / "clips"
    folder.mkdir()
    names = [*IDENTICAL_07, *TWO_TAKES, "03-01-05-01-01-01-08.wav", "03-01-04-02-02-01-08.wav",
             "03-01-06-01-01-01-09.wav"]
    for name in names:
        (folder / name).symlink_to(ravdess_16k / f"Actor_{name[-6:-4]}" / name)
    y, rate = sf.read(ravdess_16k / "Actor_08" / "03-01-05-01-01-01-08.wav", dtype="float32")
    sf.write(folder / "quieter.wav", 0.3 * y, rate)  # gain-changed copy
    y, rate = sf.read(ravdess_16k / "Actor_08" / "03-01-04-02-02-01-08.wav", dtype="float32")
    sf.write(folder / "reencoded.mp3", y, rate, format="MP3")  # re-encoded copy
    y, rate = sf.read(ravdess_16k / "Actor_09" / "03-01-06-01-01-01-09.wav", dtype="float32")
    sf.write(folder / "telephone.wav", resample(y, orig_sr=rate, target_sr=8000), 8000)  # 8-kHz copy
    return folder


def _names(paths, pairs):
    return sorted(tuple(sorted((paths[i].name, paths[j].name))) for i, j, *_ in pairs)


def test_exact_and_near_duplicates_are_found_and_two_takes_are_not(copies):
    paths = sorted(copies.iterdir())
    duplicates = find_duplicates(paths)
    assert [[paths[i].name for i in group] for group in duplicates.exact] == [list(IDENTICAL_07)]
    assert _names(paths, duplicates.near) == [("03-01-04-02-02-01-08.wav", "reencoded.mp3"),
                                              ("03-01-05-01-01-01-08.wav", "quieter.wav"),
                                              ("03-01-06-01-01-01-09.wav", "telephone.wav")]
    assert all(r >= 0.97 for *_, r in duplicates.near)
    again = find_duplicates(paths)  # fingerprints now come from the cache
    assert again.near == duplicates.near


def test_fingerprint_ignores_gain():
    t = np.arange(16000) / 16000
    y = (np.sin(2 * np.pi * 200 * t) * np.hanning(16000)).astype(np.float32)
    np.testing.assert_allclose(fingerprint(y).astype(float), fingerprint(0.1 * y).astype(float), atol=0.1)


def _table(paths, speakers, labels=None):
    return pd.DataFrame({"path": [str(p) for p in paths], "label": labels or ["sad"] * len(paths),
                         "speaker": speakers})


def test_copies_across_the_split_are_leaks_and_on_one_side_only_notes(copies):
    paths = sorted(copies.iterdir())
    names = [p.name for p in paths]
    table = _table(paths, [f"s{i}" for i in range(len(paths))])
    test_side = [names.index(IDENTICAL_07[1]), names.index("quieter.wav")]
    train_side = [i for i in range(len(paths)) if i not in test_side]
    report = leakage_report(table, (np.array(train_side), np.array(test_side)), name="custom")
    kinds = {(f.kind, f.severity) for f in report.findings}
    assert {("exact_duplicates", "leak"), ("near_duplicates", "leak"), ("near_duplicates", "warning")} <= kinds
    assert not report.ok and report.n_folds == 1
    text = format_report(report, title="copies")
    assert text.splitlines()[1].startswith("  LEAK") and "leak(s) found" in text
    alone = leakage_report(table)  # no split: duplicates are no leak, but are reported
    assert alone.ok and {f.kind for f in alone.findings} >= {"exact_duplicates", "near_duplicates"}


def test_random_split_shares_speakers_kfold_does_not(tiny_ravdess):
    index = index_corpus(tiny_ravdess)
    none = Duplicates()
    random = leakage_report(index, spec="random", duplicates=none)
    (shared,) = random.leaks
    assert shared.kind == "shared_speakers" and "3 of 3 speakers" in shared.message
    kfold = leakage_report(index, spec=SplitSpec("kfold", n_folds=3), duplicates=none)
    assert kfold.ok and kfold.n_folds == 3 and kfold.shared_speakers == []
    assert kfold.class_counts["neutral"] == 6 and not kfold.findings


def test_unknown_speakers_dominance_and_imbalance_are_warnings(tiny_ravdess):
    paths = sorted(tiny_ravdess.rglob("*.wav"))[:14]
    none = Duplicates()
    unknown = leakage_report(_table(paths, ["unknown"] * 14), duplicates=none)
    assert [f.kind for f in unknown.findings] == ["unknown_speakers"] and unknown.ok
    labels = ["sad"] * 10 + ["happy"] * 3 + ["calm"]
    speakers = ["a"] * 8 + ["b"] * 2 + ["a", "b", "c", "c"]
    report = leakage_report(_table(paths, speakers, labels), duplicates=none)
    warnings = {f.kind: f for f in report.findings}
    assert warnings["speaker_dominance"].details == [{"label": "sad", "speaker": "a", "share": 0.8, "clips": 8}]
    assert "10.0 times" in report.findings[1].message and "single clip" in report.findings[2].message
    assert report.ok and all(f.severity == "warning" for f in report.findings)


def test_protocol_split_keeps_byte_identical_copies_with_their_original(tmp_path, ravdess_16k):
    for name in (*IDENTICAL_07, "03-01-01-01-01-01-07.wav", "03-01-01-01-01-01-08.wav", "03-01-03-01-01-01-08.wav",
                 "03-01-01-01-01-01-09.wav", "03-01-03-01-01-01-09.wav"):
        (tmp_path / name).symlink_to(ravdess_16k / f"Actor_{name[-6:-4]}" / name)
    index = index_corpus(tmp_path)
    for train_idx, test_idx in split_clips(index.clips, SplitSpec("kfold", n_folds=3)):
        names = {side: {index.clips["path"].iloc[i][-24:] for i in idx} for side, idx in
                 (("train", train_idx), ("test", test_idx))}
        assert sum(IDENTICAL_07[0] in n and IDENTICAL_07[1] in n for n in names.values()) == 1
        assert len(train_idx) + len(test_idx) == len(index.clips)


def test_manifest_split_with_a_copy_on_both_sides(tmp_path, ravdess_16k):
    rows = ["path,label,speaker,split"]
    for number, name in enumerate((*IDENTICAL_07, "03-01-01-01-01-01-08.wav", "03-01-04-01-01-01-09.wav")):
        (tmp_path / name).symlink_to(ravdess_16k / f"Actor_{name[-6:-4]}" / name)
        rows.append(f"{name},{'happy' if number < 2 else 'sad'},{name[-6:-4]},{'train' if number % 2 else 'test'}")
    (tmp_path / "clips.csv").write_text("\n".join(rows) + "\n")
    index = index_corpus(tmp_path / "clips.csv")
    report = leakage_report(index, spec="manifest")
    assert {f.kind for f in report.leaks} == {"exact_duplicates", "shared_speakers"}
    assert report.exact_duplicates[0]["paths"] == list(IDENTICAL_07)  # relative to the manifest's folder
    with pytest.raises(Exception, match="no split column"):
        leakage_report(index_corpus(tmp_path, layout="ravdess"), spec="manifest", duplicates=Duplicates())


def test_leaving_a_corpus_out_flags_the_same_audio_in_two_corpora(tmp_path, ravdess_16k):
    """A clip shipped in two corpora is heard in training when the other is left out: a leak under loco."""
    names = ["03-01-01-01-01-01-08.wav", "03-01-03-01-01-01-08.wav", "03-01-01-01-01-01-09.wav",
             "03-01-03-01-01-01-09.wav"]
    rows = ["path,label,speaker,corpus"]
    for corpus, name in zip(("one", "one", "two", "two"), names):
        (tmp_path / name).symlink_to(ravdess_16k / f"Actor_{name[-6:-4]}" / name)
        rows.append(f"{name},{'neutral' if '-01-01-01-01-' in name else 'happy'},{name[-6:-4]},{corpus}")
    y, rate = sf.read(ravdess_16k / "Actor_08" / names[0], dtype="float32")
    sf.write(tmp_path / "copy.wav", 0.5 * y, rate)  # actor 08's clip again, quieter, in corpus two
    rows.append("copy.wav,neutral,09,two")
    (tmp_path / "all.csv").write_text("\n".join(rows) + "\n")
    index = index_corpus(tmp_path / "all.csv")
    report = leakage_report(index, spec="loco")
    assert report.n_folds == 2 and report.shared_speakers == []  # speakers are kept apart by their corpus
    assert {f.kind for f in report.leaks} == {"near_duplicates"}
    summary = check_training_leakage(index_dataset(index), specs=[SplitSpec("loco")], mode="warn")
    assert not summary["ok"] and summary["leaks"][0].startswith("loco: 1 near-duplicate pair(s)")
    assert check_training_leakage(index_dataset(index), specs=[SplitSpec("loco")], mode="off") is None


def index_dataset(index):
    """The clips of an index as a Dataset without features (the leakage check reads paths, labels, speakers)."""
    from ser_core.data.dataset import Dataset

    clips = index.clips
    return Dataset(X=np.zeros((len(clips), 1)), labels=clips["label"].to_numpy(str),
                   speakers=clips["speaker"].to_numpy(str), corpora=clips["corpus"].to_numpy(str),
                   paths=clips["path"].tolist(), feature_kind="none", settings=None, layout=index.layout)
