"""Tests for ser_core.cli: the index, download and features commands end to end."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import NOT_HOSTED
from ser_core.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
OTHER_EMOTIONS = ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def run_module(*args, cwd=ROOT):
    """Run ``python -m ser_core ARGS`` in a fresh interpreter; return the completed process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "ser_core", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def index_json(path, capsys, *extra):
    assert main(["index", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_help_lists_the_commands():
    help_text = build_parser().format_help()
    for command in ("index", "download", "features"):
        assert command in help_text


def test_index_json_on_the_16k_corpus(ravdess_16k):
    result = run_module("index", ravdess_16k, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "layout": "ravdess",
        "title": "ravdess",
        "n_clips": 1200,
        "n_speakers": 20,
        "by_label": {"neutral": 80, **{emotion: 160 for emotion in OTHER_EMOTIONS}},
        "by_corpus": {"ravdess": 1200},
        "skipped": [],
    }


def test_index_json_on_the_48k_sample(ravdess_48k, capsys):
    summary = index_json(ravdess_48k, capsys)
    assert (summary["layout"], summary["n_clips"], summary["n_speakers"]) == ("ravdess", 60, 1)
    assert summary["by_label"] == {"neutral": 4, **{emotion: 8 for emotion in OTHER_EMOTIONS}}


@pytest.fixture
def messy_folder(tmp_path, ravdess_48k):
    """Four real clips plus a .txt, a song file, an empty .wav and a corrupt .wav."""
    root = tmp_path / "messy" / "Actor_01"
    root.mkdir(parents=True)
    for path in sorted(ravdess_48k.rglob("03-01-0[1-4]-01-01-01-01.wav")):
        (root / path.name).symlink_to(path)
    assert len(list(root.iterdir())) == 4
    (root / "notes.txt").write_text("session notes")
    y = np.zeros(4800, dtype=np.float32)
    y[::100] = 0.5
    sf.write(root / "03-02-05-01-01-01-01.wav", y, 48000)
    (root / "03-01-05-01-01-01-01.wav").write_bytes(b"")
    (root / "03-01-06-01-01-01-01.wav").write_bytes(b"RIFF....WAVEfmt garbage" * 20)
    return root.parent


def test_index_json_reports_skipped_files(messy_folder, capsys):
    summary = index_json(messy_folder, capsys)
    assert summary["n_clips"] == 4
    reasons = {Path(item["path"]).name: item["reason"] for item in summary["skipped"]}
    assert set(reasons) == {"notes.txt", "03-02-05-01-01-01-01.wav", "03-01-05-01-01-01-01.wav",
                            "03-01-06-01-01-01-01.wav"}
    assert reasons["notes.txt"].startswith("not an audio file (.txt)")
    assert "song clip" in reasons["03-02-05-01-01-01-01.wav"]
    assert reasons["03-01-05-01-01-01-01.wav"] == "empty file (0 bytes)"
    assert reasons["03-01-06-01-01-01-01.wav"].startswith("cannot be decoded as audio")


def test_index_table_shows_counts_and_skips(messy_folder, capsys):
    assert main(["index", str(messy_folder)]) == 0
    out = capsys.readouterr().out
    assert "corpus: ravdess (read as ravdess)" in out and "clips: 4" in out and "speakers: 1" in out
    assert "neutral" in out and "skipped: 4 file(s)" in out and "empty file (0 bytes)" in out


def test_index_with_explicit_corpus(messy_folder, capsys):
    assert main(["index", str(messy_folder), "--corpus", "tess"]) == 2
    assert capsys.readouterr().err.startswith("error: no usable tess speech clips")


@pytest.mark.parametrize(
    "args, message",
    [
        (["index", "/no/such/corpus"], "error: corpus path /no/such/corpus does not exist"),
        (["index", ".", "--corpus", "iemocap"], "error: unknown corpus 'iemocap'"),
        (["download", "--to", "{tmp}/dl", "--url", "http://127.0.0.1:9/x.zip"], "error: cannot reach 127.0.0.1:9"),
        (["features", "--data", "{tmp}", "--kind", "NOPE-1"], "error: "),
    ],
)
def test_errors_print_one_line_and_exit_2(tmp_path, args, message):
    result = run_module(*[arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_download_command_end_to_end(tmp_path, http_file_server, make_ravdess_zip, capsys):
    names = ["Actor_01/03-01-01-01-01-01-01.wav", "Actor_02/03-01-05-01-01-01-02.wav"]
    (tmp_path / "src").mkdir()
    http_file_server.files["r.zip"] = make_ravdess_zip(tmp_path / "src" / "r.zip", names).read_bytes()
    dest = tmp_path / "ravdess"
    code = main(["download", "--to", str(dest), "--url", http_file_server.url("r.zip"), "--expected-clips", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"RAVDESS speech is ready in {dest}" in captured.out
    assert "download" in captured.err  # the tqdm progress bar
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.wav")) == names
    assert index_json(dest, capsys)["n_clips"] == 2


def test_download_wrong_count_is_an_error(tmp_path, http_file_server, make_ravdess_zip, capsys):
    (tmp_path / "src").mkdir()
    http_file_server.files["r.zip"] = make_ravdess_zip(
        tmp_path / "src" / "r.zip", ["Actor_01/03-01-01-01-01-01-01.wav"]).read_bytes()
    assert main(["download", "--to", str(tmp_path / "d"), "--url", http_file_server.url("r.zip")]) == 2
    assert "error: the downloaded zip holds 1 RAVDESS speech clips but 1440 are expected" in capsys.readouterr().err


def test_features_command_writes_an_npz(tmp_path, tiny_ravdess, monkeypatch, capsys):
    """The command's own job (index, call extract_corpus, save) with a stand-in features module."""
    calls = {}

    def extract_clips(paths, *, spec, n_jobs=None, progress=None, **kwargs):
        calls.update(paths=list(paths), spec=spec, n_jobs=n_jobs)
        for done in range(1, len(paths) + 1):
            progress(done, len(paths))
        X = np.arange(len(paths) * 3, dtype=np.float32).reshape(len(paths), 3)
        return types.SimpleNamespace(X=X, failures={}, ok=np.ones(len(paths), dtype=bool))

    fake = types.SimpleNamespace(parse_kind=lambda name: types.SimpleNamespace(name=name.upper()),
                                 extract_clips=extract_clips)
    monkeypatch.setitem(sys.modules, "ser_core.features", fake)
    out = tmp_path / "out" / "feats.npz"
    assert main(["features", "--data", str(tiny_ravdess), "--kind", "demo-1", "--out", str(out), "--jobs", "2"]) == 0
    assert "48 clips" in capsys.readouterr().out
    assert (calls["spec"].name, calls["n_jobs"], len(calls["paths"])) == ("DEMO-1", 2, 48)
    with np.load(out) as data:  # plain string arrays: no pickle needed
        assert data["features"].shape == (48, 3)
        assert list(data["paths"]) == calls["paths"]
        assert sorted(set(data["speakers"])) == ["01", "02", "03"] and set(data["corpora"]) == {"ravdess"}
        assert (np.unique(data["labels"], return_counts=True)[1] == 6).all()
        assert str(data["kind"]) == "DEMO-1"


@pytest.mark.slow
def test_features_command_with_the_real_extractor(tmp_path, tiny_ravdess):
    pytest.importorskip("ser_core.features")
    out = tmp_path / "mfcc.npz"
    result = run_module("features", "--data", tiny_ravdess, "--kind", "MFCC-16000-40", "--out", out, "--jobs", "1")
    assert result.returncode == 0, result.stderr
    with np.load(out) as data:
        assert data["features"].shape == (48, 160)
        assert np.isfinite(data["features"]).all()
        assert len(data["labels"]) == 48


# ---------------------------------------------------------------- your own data
def test_index_a_manifest_with_a_labels_map(tiny_manifest, tmp_path, capsys):
    mapping = tmp_path / "map.csv"
    mapping.write_text("from,to\nalegría,happy\ntristeza,sad\nira,angry\ncalma,\n")
    summary = index_json(tiny_manifest, capsys, "--labels-map", str(mapping))
    assert (summary["layout"], summary["title"], summary["n_clips"], summary["n_speakers"]) == ("manifest", "clips", 18, 3)
    assert summary["by_corpus"] == {"clips": 18}
    assert summary["by_label"] == {"happy": 6, "sad": 6, "angry": 6}
    assert [s["reason"] for s in summary["skipped"]] == ["label 'calma' is dropped by the label map"] * 6


def test_index_refuses_manifest_paths_outside_unless_allowed(tmp_path, tiny_manifest, capsys):
    outside = tmp_path / "outside.csv"
    outside.write_text(f"path,label\n{tiny_manifest.parent.name}/audio/take_000.wav,x\n"
                       f"{tiny_manifest.parent.name}/audio/take_001.wav,y\n")
    inner = tiny_manifest.parent / "audio" / "up.csv"
    inner.write_text("path,label\n../audio/take_000.wav,x\n../audio/take_001.wav,y\n")
    assert main(["index", str(inner)]) == 2
    assert "leaves the manifest's folder" in capsys.readouterr().err
    assert index_json(inner, capsys, "--allow-outside")["n_clips"] == 2
    assert index_json(outside, capsys)["n_clips"] == 2  # below the manifest's folder is inside


def test_leakage_command(tiny_ravdess, capsys):
    assert main(["leakage", "--data", str(tiny_ravdess), "--protocol", "random", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["corpus"] == "ravdess" and not report["ok"] and report["n_clips"] == 48
    assert [f["kind"] for f in report["findings"] if f["severity"] == "leak"] == ["shared_speakers"]
    assert main(["leakage", "--data", str(tiny_ravdess), "--protocol", "random", "--strict"]) == 1
    assert "LEAK" in capsys.readouterr().out
    assert main(["leakage", "--data", str(tiny_ravdess), "--folds", "3"]) == 0  # auto: 3 speakers, k-fold
    out = capsys.readouterr().out
    assert "protocol kfold (3 folds)" in out and "no leak found" in out


def test_features_of_a_manifest_keep_its_labels(tiny_manifest, tmp_path, capsys):
    out = tmp_path / "feats.npz"
    assert main(["features", "--data", str(tiny_manifest), "--kind", "MFCC-16000-13", "--out", str(out)]) == 0
    saved = np.load(out)
    assert saved["features"].shape == (24, 79)
    assert sorted(set(saved["labels"])) == ["alegría", "calma", "ira", "tristeza"]
    assert sorted(set(saved["speakers"])) == ["s01", "s02", "s03"]


PREDICT_AND_EVALUATE = f"""
import json, sys
from ser_core.cli import main
from ser_core.modelfolder.read import default_model_dir
assert main(["predict", "--json", sys.argv[1]]) == 0
assert main(["evaluate", "--model", str(default_model_dir()), "--data", sys.argv[2], "--json"]) == 0
print(json.dumps(sorted(m for m in {NOT_HOSTED!r} if m in sys.modules)))
"""


def test_predict_and_evaluate_import_nothing_only_the_training_install_has(tmp_path, ravdess_16k):
    corpus = tmp_path / "corpus" / "Actor_01"
    corpus.mkdir(parents=True)
    for emotion in range(1, 9):
        clip = sorted((ravdess_16k / "Actor_01").glob(f"03-01-{emotion:02d}-*.wav"))[0]
        (corpus / clip.name).symlink_to(clip)
    env = {name: value for name, value in os.environ.items() if name != "SER_DASK_SCHEDULER"}
    done = subprocess.run([sys.executable, "-c", PREDICT_AND_EVALUATE, str(clip), str(corpus.parent)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
