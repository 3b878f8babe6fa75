"""Every CLI command given a bad path says one clear line naming the file and the reason, and exits non-zero."""

import os
from pathlib import Path

import pytest

from ser_core.cli import main


@pytest.fixture
def places(tmp_path, app_models):
    from app_support import TINY_MODEL

    empty = tmp_path / "empty"
    empty.mkdir()
    pdf = tmp_path / "paper.mp3"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + os.urandom(4000))
    locked = tmp_path / "locked.wav"
    locked.write_bytes(b"RIFF....WAVE")
    return {"empty": empty, "missing": tmp_path / "nowhere", "pdf": pdf, "locked": locked, "file": pdf,
            "model": app_models / TINY_MODEL}


CASES = [
    (["index", "{empty}"], "no audio files found"),
    (["index", "{missing}"], "does not exist"),
    (["index", "{file}"], "is a file but not a zip"),
    (["features", "--data", "{empty}", "--kind", "MFCC-16000-13"], "no audio files found"),
    (["features", "--data", "{missing}", "--kind", "MFCC-16000-13"], "does not exist"),
    (["train", "--data", "{empty}", "--model", "svm", "--out", "{missing}/m"], "no audio files found"),
    (["evaluate", "--model", "{missing}", "--data", "{empty}"], "does not exist"),
    (["evaluate", "--model", "{file}", "--data", "{empty}"], "not a folder"),
    (["predict", "{empty}", "--model", "{model}", "--trust"], "holds no audio files"),
    (["predict", "{missing}", "--model", "{model}", "--trust"], "no file or folder"),
    (["predict", "{pdf}", "--model", "{model}", "--trust"], "it looks like a PDF document"),
    (["predict", "{locked}", "--model", "{model}", "--trust"], "permission denied"),
    (["predict", "{empty}", "--model", "{file}"], "not a folder"),
    (["report", "--root", "{empty}", "--out", "{missing}/r.html"], "no model with evaluation figures"),
]


@pytest.mark.parametrize(("argv", "expected"), CASES, ids=[" ".join(c[0][:2]) + f" {i}" for i, c in enumerate(CASES)])
def test_one_clear_line_and_a_non_zero_exit(places, capfd, monkeypatch, argv, expected):
    import ser_core.audio.decode

    real_access = os.access
    monkeypatch.setattr(ser_core.audio.decode.os, "access",
                        lambda path, mode: False if Path(path).name == "locked.wav" else real_access(path, mode))
    code = main([part.format(**places) for part in argv])
    out, err = capfd.readouterr()
    assert code != 0
    text = out + err
    assert expected in text, text
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("error:") or "Illegal" not in line for line in lines)
    assert not any(line.startswith("Note:") for line in text.splitlines()), "a C library's note leaked"
    assert "Traceback" not in text
    if argv[0] == "predict" and "{empty}" not in argv[1] and "{missing}" not in argv[1]:
        assert Path(argv[1].format(**places)).name in text  # the line names the file
