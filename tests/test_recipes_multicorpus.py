"""The multi-corpus default's recipe: what it trains on and what it refuses."""

import pytest

from recipes.multicorpus import EXAMPLE_SPEAKERS, training_manifest
from ser_core.errors import InputError


def _manifest(tmp_path, rows):
    path = tmp_path / "all.csv"
    path.write_text("path,label,speaker,corpus\n" + "".join(f"{r[0]},{r[1]},{r[2]},{r[3]}\n" for r in rows))
    return path


def test_the_example_speakers_are_left_out_of_training(tmp_path):
    example = EXAMPLE_SPEAKERS[0]
    manifest = _manifest(tmp_path, [("a/1.wav", "sad", "a:1", "a"), ("b/2.wav", "calm", example, "turev"),
                                    ("b/3.wav", "angry", "turev:1", "turev")])
    out = training_manifest(manifest)
    assert out.parent == manifest.parent  # relative clip paths stay valid
    text = out.read_text()
    assert example not in text and "a/1.wav" in text and "b/3.wav" in text


@pytest.mark.parametrize("rows, message", [
    ([("a/1.wav", "sad", "a:1", "a"), ("a/2.wav", "calm", "a:2", "a")], "fewer than two corpora"),
])
def test_a_manifest_of_one_corpus_is_refused(tmp_path, rows, message):
    with pytest.raises(InputError, match=message):
        training_manifest(_manifest(tmp_path, rows))


def test_a_folder_is_refused_with_the_command_that_lays_corpora_out(tmp_path):
    with pytest.raises(InputError, match="recipes.corpora.prepare"):
        training_manifest(tmp_path)


def test_build_default_without_data_names_the_manifest_it_needs(capsys):
    from ser_core.cli import main

    assert main(["build-default"]) != 0
    assert "manifest of several corpora" in capsys.readouterr().err
