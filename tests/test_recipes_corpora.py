"""recipes/corpora/prepare.py on a tiny fake snapshot: labels, speakers, exclusions, determinism.

The snapshot is a temporary bare git repository laid out as the ``fetch`` tool lays them
out (``<mirror>/owner+name/repo``), holding a few tone clips, a Git LFS pointer, a
duplicate, a label outside the harmonised space and other clips to leave out. No real
corpus is needed.
"""

import csv
import io
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from recipes.corpora import prepare

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

REPO = "someone/fake-corpus"
LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:c6f94b2592487c7556bd86df7df6e8f4420d1b9c11414aeec9d8e5e640b51495\nsize 72862\n")


def tone(frequency_hz, *, sample_rate=16000, duration_s=0.5, subtype="PCM_16"):
    """WAV bytes of a sine tone."""
    t = np.arange(int(sample_rate * duration_s)) / sample_rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * frequency_hz * t), sample_rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


SNAPSHOT_FILES = {
    "data/README.md": b"not a clip\n",
    "data/A_angry/A_one_angry.wav": tone(220),
    "data/A_angry/A_lfs_angry.wav": LFS_POINTER,
    "data/A_angry/A_seven_sad.wav": tone(230),          # folder says angry, name says sad
    "data/A_angry/junk.wav": tone(240),                  # does not follow the naming
    "data/A_angry/A_broken_angry.wav": b"RIFF\x00\x00\x00\x00WAVEnot really audio",
    "data/A_ps/A_two_ps.wav": tone(330, sample_rate=8000),  # resampled to 16 kHz
    "data/B_sad/B_copy_sad.wav": tone(440),
    "data/B_sad/B_three_sad.wav": tone(440),             # the same samples as B_copy_sad
    "data/B_bored/B_four_bored.wav": tone(550),          # label outside the harmonised space
    "data/C_angry/C_six_angry.wav": tone(660),           # held-back speaker
    "data/D_angry/D_eight_angry.wav": tone(770),         # speaker not listed
    "data/A_angry/A_gone_angry.wav": tone(880),          # its blob is removed: absent from the snapshot
}


def config_for(commit):
    return {
        "format": 1,
        "sample_rate": 16000,
        "labels": ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"],
        "corpora": {
            "fake": {
                "name": "a fake corpus",
                "source": {"repo": REPO, "commit": commit, "folder": "data"},
                "pattern": r"^(?P<speaker>[A-D])_(?P<label>[a-z]+)/[A-D]_[a-z]+_(?P<label2>[a-z]+)\.wav$",
                "label_map": {"angry": "angry", "sad": "sad", "ps": "surprised", "bored": None},
                "held_back_speakers": {"C": "kept for independent evaluation"},
                "speakers": {"A": "female", "B": "male"},
                "language": "xx",
                "licence": "test only",
                "citation": "none",
            },
            "local": {
                "name": "a local folder",
                "source": {"local": "ravdess"},
                "pattern": r"^Actor_(?P<speaker>\d{2})/(?P<label>0[1-8])\.wav$",
                "label_map": {"01": "neutral", "02": "calm"},
                "held_back_speakers": {"21": "actors 21-24 are held back"},
                "speakers": {"01": "male"},
                "language": "en",
                "licence": "test only",
                "citation": "none",
            },
        },
    }


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A fake mirror (one bare repository, one commit) and a local RAVDESS-like folder."""
    root = tmp_path_factory.mktemp("sources")
    work, mirror = root / "work", root / "mirror"
    git_dir = mirror / REPO.replace("/", "+") / "repo"
    for name, data in SNAPSHOT_FILES.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    plain = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    env = {**plain, "GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(work), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run(["git", "init", "--quiet", "--bare", str(git_dir)], check=True, env=plain)
    subprocess.run(["git", "add", "-A"], check=True, env=env)
    subprocess.run(["git", "commit", "--quiet", "-m", "clips"], check=True, env=env)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], check=True, env=env, capture_output=True,
                            text=True).stdout.strip()
    gone = subprocess.run(["git", "rev-parse", f"{commit}:data/A_angry/A_gone_angry.wav"], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()
    (git_dir / "objects" / gone[:2] / gone[2:]).unlink()  # as a snapshot lacks files of 4 MiB and more
    local = root / "ravdess"
    clips = {"Actor_01/01.wav": tone(300), "Actor_01/02.wav": tone(310), "Actor_21/01.wav": tone(320)}
    for name, data in clips.items():
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_bytes(data)
    config_path = root / "corpora.json"
    config_path.write_text(json.dumps(config_for(commit)))
    return {"mirror": mirror, "local": local, "commit": commit, "config": prepare.load_config(config_path)}


def run(sources, out):
    return prepare.prepare(sources["config"], out=out, mirror_root=sources["mirror"],
                           local={"ravdess": sources["local"]}, log=lambda message: None)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def prepared(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared") / "corpora"
    run(sources, out)
    return out


def test_manifest_rows_carry_harmonised_labels_and_qualified_speakers(prepared):
    rows = read_csv(prepared / "all.csv")
    assert list(rows[0]) == ["path", "label", "speaker", "corpus", "language", "gender"]
    assert [(row["path"], row["label"], row["speaker"], row["gender"]) for row in rows] == [
        ("fake/A_angry/A_one_angry.wav", "angry", "fake:A", "female"),
        ("fake/A_ps/A_two_ps.wav", "surprised", "fake:A", "female"),
        ("fake/B_sad/B_copy_sad.wav", "sad", "fake:B", "male"),
        ("local/Actor_01/01.wav", "neutral", "local:01", "male"),
        ("local/Actor_01/02.wav", "calm", "local:01", "male"),
    ]
    assert read_csv(prepared / "fake.csv") == [row for row in rows if row["corpus"] == "fake"]
    assert {row["language"] for row in rows if row["corpus"] == "fake"} == {"xx"}


def test_clips_are_16_khz_mono_16_bit(prepared):
    for row in read_csv(prepared / "all.csv"):
        info = sf.info(prepared / row["path"])
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert sf.info(prepared / "fake/A_ps/A_two_ps.wav").frames == 8000  # 0.5 s at 8 kHz, resampled


def test_every_clip_left_out_is_listed_with_its_reason(prepared, sources):
    excluded = {row["source"].rsplit("/", 1)[-1]: row["reason"] for row in read_csv(prepared / "excluded.csv")}
    assert set(excluded) == {"A_lfs_angry.wav", "A_seven_sad.wav", "junk.wav", "A_broken_angry.wav",
                             "B_three_sad.wav", "B_four_bored.wav", "C_six_angry.wav", "D_eight_angry.wav",
                             "A_gone_angry.wav", "01.wav"}
    assert excluded["A_lfs_angry.wav"].startswith("Git LFS pointer")
    assert excluded["A_gone_angry.wav"].startswith("blob absent from the snapshot")
    assert excluded["A_seven_sad.wav"] == "the folder says 'angry' but the file name says 'sad'"
    assert excluded["junk.wav"].startswith("name does not follow")
    assert excluded["A_broken_angry.wav"].startswith("unreadable")
    assert excluded["B_three_sad.wav"] == "duplicate: the same samples as fake/B_sad/B_copy_sad.wav"
    assert "outside the harmonised label space" in excluded["B_four_bored.wav"]
    assert excluded["C_six_angry.wav"].startswith("speaker C is held back")
    assert "not among the corpus's speakers" in excluded["D_eight_angry.wav"]
    assert excluded["01.wav"].startswith("speaker 21 is held back")
    origin = next(row["source"] for row in read_csv(prepared / "excluded.csv") if row["source"].endswith("junk.wav"))
    assert origin == f"github:{REPO}@{sources['commit']}:data/A_angry/junk.wav"
    assert not (prepared / "fake" / "README.md").exists()


def test_summary_counts_and_sources(prepared):
    summary = json.loads((prepared / "summary.json").read_text())
    assert summary["clips"] == 5 and summary["speakers"] == 3
    assert summary["corpora"]["fake"]["by_label"] == {"sad": 1, "angry": 1, "surprised": 1}
    assert summary["corpora"]["fake"]["by_speaker"] == {"fake:A": 2, "fake:B": 1}
    assert summary["corpora"]["fake"]["excluded"]["duplicate"] == 1
    sources_rows = {row["path"]: row for row in read_csv(prepared / "sources.csv")}
    assert sources_rows["fake/A_ps/A_two_ps.wav"]["source_sample_rate"] == "8000"
    assert set(sources_rows) == {row["path"] for row in read_csv(prepared / "all.csv")}


def test_same_inputs_give_byte_identical_output(prepared, sources, tmp_path):
    again = tmp_path / "again"
    run(sources, again)
    files = sorted(path.relative_to(prepared) for path in prepared.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(again) for path in again.rglob("*") if path.is_file())
    for name in files:
        assert (prepared / name).read_bytes() == (again / name).read_bytes(), name


def test_a_commit_missing_from_the_snapshot_is_refused(sources, tmp_path):
    config = json.loads(json.dumps(sources["config"]))
    config["corpora"]["fake"]["source"]["commit"] = "0" * 40
    with pytest.raises(prepare.PrepareError, match="lacks commit 0000"):
        prepare.prepare(config, out=tmp_path / "out", mirror_root=sources["mirror"], only=["fake"],
                        log=lambda message: None)


def test_a_missing_snapshot_names_the_fetch_to_run(sources, tmp_path):
    with pytest.raises(prepare.PrepareError, match="fetch tool"):
        prepare.prepare(sources["config"], out=tmp_path / "out", mirror_root=tmp_path, only=["fake"],
                        log=lambda message: None)


def test_a_label_map_outside_the_harmonised_space_is_refused(tmp_path):
    config = config_for("0" * 40)
    config["corpora"]["fake"]["label_map"]["bored"] = "boredom"
    path = tmp_path / "corpora.json"
    path.write_text(json.dumps(config))
    with pytest.raises(prepare.PrepareError, match="boredom"):
        prepare.load_config(path)


def test_the_shipped_config_reads():
    config = prepare.load_config()
    assert set(config["corpora"]) >= {"ravdess", "savee", "tess", "turev"}
    assert set(config["corpora"]["ravdess"]["held_back_speakers"]) == {"21", "22", "23", "24"}


def test_a_corpus_at_the_repository_root_is_read_from_folder_dot(sources):
    git_dir = sources["mirror"] / REPO.replace("/", "+") / "repo"
    listed = [source.relative for source in prepare.read_snapshot(git_dir, commit=sources["commit"], folder=".",
                                                                  repo=REPO)]
    assert "data/A_angry/A_one_angry.wav" in listed and "data/README.md" not in listed


@pytest.mark.parametrize("key, name, expected", [
    ("nemo", "EB0_anger_1.wav", ("angry", "EB0")),
    ("nemo", "WR0_surprised_90.wav", ("surprised", "WR0")),
    ("nemo", "KS0_happiness_12.wav", ("happy", "KS0")),
    ("nemo", "XX0_anger_1.wav", (None, None)),                       # not one of the nine speakers
    ("ased", "05Angry/a5-03-01-02-50.wav", ("angry", "50")),
    ("ased", "04Sad/S4-04-02-01-29.wav", ("sad", "29")),             # the one upper-case name in the release
    ("ased", "04Sad/h3-04-02-01-29.wav", (None, None)),              # folder and name disagree
    ("ased", "01Neutral/n1-01-01-01-66.wav", (None, None)),          # speaker 66 does not exist
])
def test_the_shipped_patterns_read_the_new_corpora(key, name, expected):
    corpus = prepare.load_config()["corpora"][key]
    label, speaker, reason = prepare.parse_name(name, corpus)
    assert (label, speaker) == expected
    assert (reason is None) == (expected[0] is not None)
