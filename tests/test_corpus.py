"""Tests for ser_core.data: finding and labelling clips of five corpora."""

import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from ser_core.data.index import COLUMNS, CorpusIndex, index_corpus, summarize
from ser_core.data.naming import CORPORA, detect_corpus
from ser_core.errors import CorpusError

SAMPLE_RATE = 16000


def write_clip(path: Path, *, duration_s=0.25, sample_rate=SAMPLE_RATE, channels=1, seed=0):
    """Write a short noise-burst WAV (distinct content per seed) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (int(duration_s * sample_rate), channels) if channels > 1 else int(duration_s * sample_rate)
    sf.write(path, (0.1 * rng.standard_normal(shape)).astype(np.float32), sample_rate, subtype="PCM_16")
    return path


def make_corpus(root: Path, names, **kwargs) -> Path:
    for seed, name in enumerate(names):
        write_clip(root / name, seed=seed, **kwargs)
    return root


# (corpus, relative path, emotion, intensity, statement, repetition, actor, gender)
GOOD_NAMES = [
    ("ravdess", "Actor_12/03-01-06-01-02-01-12.wav", "fearful", "normal", "02", 1, "12", "female"),
    ("ravdess", "03-01-01-01-01-02-07.wav", "neutral", "normal", "01", 2, "07", "male"),
    ("ravdess", "Actor_24/03-01-08-02-02-02-24.wav", "surprised", "strong", "02", 2, "24", "female"),
    ("ravdess", "03-01-02-02-01-01-31.wav", "calm", "strong", "01", 1, "31", "male"),
    ("crema-d", "AudioWAV/1001_DFA_ANG_XX.wav", "angry", "unspecified", "DFA", None, "1001", "unknown"),
    ("crema-d", "1091_IEO_HAP_HI.wav", "happy", "high", "IEO", None, "1091", "unknown"),
    ("crema-d", "1050_TIE_NEU_LO.wav", "neutral", "low", "TIE", None, "1050", "unknown"),
    ("crema-d", "1002_ITS_FEA_MD.wav", "fearful", "medium", "ITS", None, "1002", "unknown"),
    ("tess", "OAF_angry/OAF_back_angry.wav", "angry", "unspecified", "back", None, "OAF", "female"),
    ("tess", "YAF_dog_ps.wav", "surprised", "unspecified", "dog", None, "YAF", "female"),
    ("tess", "YAF_date_fear.wav", "fearful", "unspecified", "date", None, "YAF", "female"),
    ("tess", "OAF_Fear/OAF_bite_Fear.wav", "fearful", "unspecified", "bite", None, "OAF", "female"),
    ("savee", "ALL/DC_a01.wav", "angry", "unspecified", "a01", None, "DC", "male"),
    ("savee", "JK_su15.wav", "surprised", "unspecified", "su15", None, "JK", "male"),
    ("savee", "AudioData/KL/sa03.wav", "sad", "unspecified", "sa03", None, "KL", "male"),
    ("savee", "AudioData/JE/n30.wav", "neutral", "unspecified", "n30", None, "JE", "male"),
    ("emodb", "wav/03a01Fa.wav", "happy", "unspecified", "a01", None, "03", "male"),
    ("emodb", "08b10Lc.wav", "boredom", "unspecified", "b10", None, "08", "female"),
    ("emodb", "16a05Wb.wav", "angry", "unspecified", "a05", None, "16", "female"),
    ("emodb", "11b03Ed.wav", "disgust", "unspecified", "b03", None, "11", "male"),
    ("emodb", "13a04Ta.wav", "sad", "unspecified", "a04", None, "13", "female"),
    ("emodb", "15a02Aa.wav", "fearful", "unspecified", "a02", None, "15", "male"),
    ("emodb", "09b01Nb.wav", "neutral", "unspecified", "b01", None, "09", "female"),
]


@pytest.mark.parametrize(
    "corpus, name, emotion, intensity, statement, repetition, actor, gender", GOOD_NAMES
)
def test_names_are_labelled(tmp_path, corpus, name, emotion, intensity, statement, repetition, actor, gender):
    make_corpus(tmp_path, [name])
    index = index_corpus(tmp_path, layout=corpus)
    assert index.layout == corpus
    assert index.skipped == []
    row = index.clips.iloc[0]
    assert Path(row["path"]) == tmp_path / name
    assert (row["corpus"], row["label"], row["intensity"], row["statement"]) == (
        corpus, emotion, intensity, statement,
    )
    assert (row["speaker"], row["gender"]) == (actor, gender)
    if repetition is None:
        assert row["repetition"] is pd.NA
    else:
        assert row["repetition"] == repetition


# (corpus, file name, expected reason fragment)
BAD_NAMES = [
    ("ravdess", "03-02-06-01-02-01-12.wav", "song clip"),
    ("ravdess", "01-01-06-01-02-01-12.wav", "not audio-only"),
    ("ravdess", "03-01-09-01-02-01-12.wav", "emotion code 09"),
    ("ravdess", "03-01-01-02-01-01-12.wav", "neutral clip with strong intensity"),
    ("ravdess", "03-01-03-03-01-01-12.wav", "intensity code 03"),
    ("ravdess", "03-01-03-01-03-01-12.wav", "statement 03"),
    ("ravdess", "03-01-03-01-01-01-00.wav", "actor 00"),
    ("ravdess", "03-01-03-01-01-01.wav", "does not follow the ravdess naming"),
    ("ravdess", "notes.wav", "does not follow the ravdess naming"),
    ("crema-d", "1001_DFA_SUR_XX.wav", "emotion code SUR"),
    ("crema-d", "1001_DFA_ANG_ZZ.wav", "level ZZ"),
    ("tess", "OAF_back_bored.wav", "emotion 'bored'"),
    ("savee", "a01.wav", "does not follow the savee naming"),
    ("emodb", "03a01Xa.wav", "does not follow the emodb naming"),
]


@pytest.mark.parametrize("corpus, name, reason", BAD_NAMES)
def test_bad_names_are_skipped_with_a_reason(tmp_path, corpus, name, reason):
    good = {"ravdess": "03-01-05-01-01-01-01.wav", "crema-d": "1001_DFA_ANG_XX.wav",
            "tess": "OAF_back_angry.wav", "savee": "DC_a01.wav", "emodb": "03a01Fa.wav"}[corpus]
    make_corpus(tmp_path, [good, name])
    index = index_corpus(tmp_path, layout=corpus)
    assert len(index.clips) == 1
    assert [Path(item.path).name for item in index.skipped] == [name]
    assert reason in index.skipped[0].reason


@pytest.mark.parametrize("corpus", CORPORA)
def test_auto_detection_picks_each_corpus(tmp_path, corpus):
    names = [name for c, name, *_ in GOOD_NAMES if c == corpus]
    make_corpus(tmp_path, names)
    index = index_corpus(tmp_path)
    assert index.layout == corpus
    assert len(index.clips) == len(names)


def test_auto_detection_follows_the_majority_and_skips_the_rest(tmp_path):
    make_corpus(tmp_path, ["03-01-05-01-01-01-01.wav", "03-01-04-01-01-01-02.wav", "OAF_back_angry.wav"])
    index = index_corpus(tmp_path)
    assert index.layout == "ravdess"
    assert len(index.clips) == 2
    assert "does not follow the ravdess naming" in index.skipped[0].reason
    assert detect_corpus([Path("OAF_back_angry.wav"), Path("YAF_dog_ps.wav"), Path("1001_DFA_ANG_XX.wav")]) == "tess"


def test_song_files_count_as_ravdess_for_detection(tmp_path):
    make_corpus(tmp_path, ["03-02-05-01-01-01-01.wav", "03-02-04-01-01-01-01.wav", "03-01-04-01-01-01-01.wav",
                           "OAF_back_angry.wav", "OAF_back_sad.wav"])
    assert index_corpus(tmp_path).layout == "ravdess"


@pytest.mark.parametrize("alias, canonical", [("RAVDESS", "ravdess"), ("CREMA_D", "crema-d"), ("cremad", "crema-d"),
                                              ("EmoDB", "emodb"), ("emo-db", "emodb")])
def test_corpus_names_are_normalised(tmp_path, alias, canonical):
    name = {"ravdess": "03-01-05-01-01-01-01.wav", "crema-d": "1001_DFA_ANG_XX.wav", "emodb": "03a01Fa.wav"}[canonical]
    make_corpus(tmp_path, [name])
    assert index_corpus(tmp_path, layout=alias).layout == canonical


def test_stray_files_are_skipped_with_reasons(tmp_path):
    make_corpus(tmp_path, ["Actor_01/03-01-05-01-01-01-01.wav", "Actor_01/03-01-03-01-01-01-01.wav"])
    write_clip(tmp_path / "Actor_01" / "03-02-05-01-01-01-01.wav", seed=9)
    (tmp_path / "readme.txt").write_text("not audio")
    (tmp_path / "Actor_01" / "03-01-04-01-01-01-01.wav").write_bytes(b"")
    (tmp_path / "Actor_01" / "03-01-06-01-01-01-01.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    write_clip(tmp_path / "Actor_01" / "03-01-07-01-01-01-01.wav", duration_s=0.0)
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._03-01-05-01-01-01-01.wav").write_bytes(b"\x00\x05\x16\x07")
    index = index_corpus(tmp_path)
    assert len(index.clips) == 2
    reasons = {Path(item.path).name: item.reason for item in index.skipped}
    assert reasons["readme.txt"].startswith("not an audio file (.txt)")
    assert "song clip" in reasons["03-02-05-01-01-01-01.wav"]
    assert reasons["03-01-04-01-01-01-01.wav"] == "empty file (0 bytes)"
    assert reasons["03-01-06-01-01-01-01.wav"].startswith("cannot be decoded as audio")
    assert reasons["03-01-07-01-01-01-01.wav"] == "audio file with no samples (0 frames)"
    assert reasons["._03-01-05-01-01-01-01.wav"] == "macOS metadata file, not audio"
    assert summarize(index)["skipped"] == [{"path": item.path, "reason": item.reason} for item in index.skipped]


def test_without_probing_audio_columns_are_empty(tmp_path):
    make_corpus(tmp_path, ["03-01-05-01-01-01-01.wav"])
    (tmp_path / "03-01-06-01-01-01-01.wav").write_bytes(b"not a wav at all")
    index = index_corpus(tmp_path, probe_audio=False)
    assert len(index.clips) == 2  # corrupt content is not noticed without probing
    assert index.clips["duration_s"].isna().all()
    assert index.clips["sample_rate"].isna().all()


def test_table_has_the_contract_columns_and_probed_audio(tmp_path):
    make_corpus(tmp_path, ["a/b/c/03-01-05-01-01-01-01.wav"], duration_s=0.5, sample_rate=48000, channels=2)
    index = index_corpus(tmp_path)
    assert isinstance(index, CorpusIndex)
    assert tuple(index.clips.columns) == COLUMNS
    row = index.clips.iloc[0]
    assert math.isclose(row["duration_s"], 0.5)
    assert (row["sample_rate"], row["channels"]) == (48000, 2)


def test_duplicates_point_at_the_first_identical_file(tmp_path):
    first = write_clip(tmp_path / "03-01-03-01-02-01-07.wav", seed=3)
    (tmp_path / "03-01-03-01-02-02-07.wav").write_bytes(first.read_bytes())
    write_clip(tmp_path / "03-01-04-01-02-02-07.wav", seed=4)
    clips = index_corpus(tmp_path).clips
    clips.index = [Path(path).name for path in clips["path"]]
    assert clips.loc["03-01-03-01-02-02-07.wav", "duplicate_of"] == str(first)
    assert clips[["duplicate_of"]].isna().sum().item() == 2


def test_progress_reports_every_file(tmp_path):
    make_corpus(tmp_path, [f"03-01-0{e}-01-01-01-01.wav" for e in range(2, 6)])
    (tmp_path / "x.txt").write_text("x")
    calls = []
    index_corpus(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (5, 5)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_zip_is_unpacked_once_into_the_cache(tmp_path, monkeypatch, make_ravdess_zip):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SER_CACHE_DIR", str(cache))
    archive = make_ravdess_zip(tmp_path / "ravdess.zip", ["Actor_01/03-01-05-01-01-01-01.wav",
                                                         "Actor_02/03-01-01-01-01-01-02.wav", "readme.txt"])
    first = index_corpus(archive)
    assert len(first.clips) == 2 and len(first.skipped) == 1
    assert all(Path(path).is_file() and cache in Path(path).parents for path in first.clips["path"])
    stamp = Path(first.clips["path"][0]).stat().st_mtime_ns
    second = index_corpus(archive)
    assert list(second.clips["path"]) == list(first.clips["path"])
    assert Path(second.clips["path"][0]).stat().st_mtime_ns == stamp  # not unpacked again


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: (root / "a.txt").write_text("x") and root / "a.txt", "not a zip"),
        (lambda root: root, "no audio files found"),
        (lambda root: (root / "x.txt").write_text("x") and root, "no audio files found"),
        (lambda root: make_corpus(root, ["hello.wav", "world.wav"]), "follows a known corpus naming"),
        (lambda root: make_corpus(root, ["03-02-05-01-01-01-01.wav"]), "no usable ravdess speech clips"),
    ],
)
def test_unusable_paths_raise_corpus_error(tmp_path, setup, message):
    with pytest.raises(CorpusError, match=message):
        index_corpus(setup(tmp_path))


def test_broken_zip_raises_corpus_error(tmp_path):
    archive = tmp_path / "broken.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("Actor_01/03-01-05-01-01-01-01.wav", b"x" * 1000)
    data = bytearray(archive.read_bytes())
    data[40:80] = b"\xff" * 40  # damage the local header, keep the central directory
    archive.write_bytes(bytes(data))
    with pytest.raises(CorpusError):
        index_corpus(archive)


def test_unknown_corpus_name_raises(tmp_path):
    make_corpus(tmp_path, ["03-01-05-01-01-01-01.wav"])
    with pytest.raises(CorpusError, match="unknown corpus 'iemocap'"):
        index_corpus(tmp_path, layout="iemocap")


def test_explicit_corpus_that_does_not_fit_raises(tmp_path):
    make_corpus(tmp_path, ["03-01-05-01-01-01-01.wav"])
    with pytest.raises(CorpusError, match="no usable tess speech clips"):
        index_corpus(tmp_path, layout="tess")


def test_summary_has_exactly_the_contract_keys(tmp_path):
    make_corpus(tmp_path, ["03-01-05-01-01-01-01.wav", "03-01-01-01-01-01-02.wav", "03-01-05-02-01-01-02.wav"])
    summary = summarize(index_corpus(tmp_path))
    assert summary == {"layout": "ravdess", "title": "ravdess", "n_clips": 3, "n_speakers": 2,
                       "by_label": {"neutral": 1, "angry": 2}, "by_corpus": {"ravdess": 3}, "skipped": []}
    assert list(summary["by_label"]) == ["neutral", "angry"]  # vocabulary order


def test_real_16k_corpus(ravdess_16k):
    index = index_corpus(ravdess_16k)
    summary = summarize(index)
    assert summary["layout"] == "ravdess"
    assert (summary["n_clips"], summary["n_speakers"]) == (1200, 20)
    assert summary["by_label"] == {"neutral": 80, **{e: 160 for e in
                                     ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")}}
    assert summary["skipped"] == []
    clips = index.clips
    assert set(clips["sample_rate"]) == {16000} and set(clips["channels"]) == {1}
    assert clips["duration_s"].between(2.5, 6.0).all()
    assert (clips.groupby("gender")["speaker"].nunique() == 10).all()
    duplicates = clips[clips["duplicate_of"].notna()]
    assert [Path(p).name for p in duplicates["path"]] == ["03-01-03-01-02-02-07.wav"]
    assert Path(duplicates["duplicate_of"].iloc[0]).name == "03-01-03-01-02-01-07.wav"


def test_real_48k_sample_with_stereo_files(ravdess_48k):
    clips = index_corpus(ravdess_48k).clips
    assert len(clips) == 60 and set(clips["sample_rate"]) == {48000}
    stereo = sorted(Path(p).stem for p in clips.loc[clips["channels"] == 2, "path"])
    assert stereo == ["03-01-02-01-01-02-01", "03-01-08-01-02-02-01"]


def test_symlinked_tiny_corpus(tiny_ravdess):
    summary = summarize(index_corpus(tiny_ravdess))
    assert (summary["n_clips"], summary["n_speakers"]) == (48, 3)


# ---------------------------------------------------------------- one validity rule for index and extraction
@pytest.mark.parametrize(("make", "reason"), [
    (lambda: np.zeros(48000, dtype=np.float32), "silent"),
    (lambda: np.full(48000, 0.5, dtype=np.float32), "constant"),
    (lambda: np.full(48000, np.nan, dtype=np.float32), "NaN"),
    (lambda: (0.5 * np.sin(np.arange(800) / 5)).astype(np.float32), "at least 0.1 s"),
])
def test_index_skips_what_extraction_would_refuse_with_the_same_reason(tmp_path, ravdess_16k, make, reason):
    import soundfile as sf

    from ser_core.data.index import index_corpus
    from ser_core.features import extract_clips

    folder = tmp_path / "Actor_01"
    folder.mkdir()
    for path in sorted((ravdess_16k / "Actor_01").glob("*.wav"))[:3]:
        (folder / path.name).symlink_to(path)
    bad = folder / "03-01-05-01-01-01-01.wav"
    if bad.exists():
        bad.unlink()
    sf.write(bad, make(), 16000, subtype="FLOAT")
    index = index_corpus(tmp_path)
    skipped = {Path(s.path).name: s.reason for s in index.skipped}
    assert bad.name in skipped and reason in skipped[bad.name]
    assert bad.name not in set(Path(p).name for p in index.clips["path"])
    result = extract_clips([bad], spec="MFCC-16000-13", cache=False, n_jobs=1)
    assert reason in result.failures[0] and np.isnan(result.X).all()
