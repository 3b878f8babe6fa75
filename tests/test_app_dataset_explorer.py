"""The Dataset explorer page in AppTest: sources (env, folder, zip, download), counts, one clip."""

import io
import zipfile

import pytest

from app_support import open_page, problems


def _page():
    return open_page("dataset")


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_corpus_counts_charts_and_one_clip(app_env):
    at = _page()
    assert problems(at) == []
    assert _metrics(at) == {"Corpus": "RAVDESS", "Clips": "48", "Speakers": "3",
                            "Audio": _metrics(at)["Audio"], "Skipped files": "0"}
    assert _metrics(at)["Audio"].endswith(" min"), "under an hour of audio in minutes, not '0.03' hours"
    assert {m.label for m in at.multiselect} == {"Emotion", "Speaker", "Gender", "Intensity", "Statement"}
    # one count chart at a time (the first visit draws only what is on screen): counts, durations, two waveforms
    assert len(at.get("plotly_chart")) == 4
    assert len(at.get("audio")) == 1
    count_by = at.get("button_group")[0]
    assert count_by.options == ["Emotion", "Speaker", "Gender", "Intensity", "Statement"]
    count_by.set_value("Speaker").run()
    assert problems(at) == [] and len(at.get("plotly_chart")) == 4
    at.toggle(key="explorer_mel").set_value(True).run()
    assert problems(at) == [] and len(at.get("plotly_chart")) == 6  # and the mel spectrograms on request
    table = at.dataframe[-1].value
    assert "duration (s)" in table.columns and "duration_s" not in table.columns
    assert "None" not in table.astype(str).to_string() and "<NA>" not in table.astype(str).to_string()


def test_filters_narrow_the_clips(app_env):
    at = _page()
    at.multiselect(key="filter_label").set_value(["angry", "sad"]).run()
    at.multiselect(key="filter_speaker").set_value(["02"]).run()
    assert problems(at) == []
    assert "4 of 48 clips match." in [c.value for c in at.caption]


def test_filters_that_match_nothing_warn(app_env):
    at = _page()
    at.multiselect(key="filter_speaker").set_value(["01"]).run()  # a male speaker
    at.multiselect(key="filter_gender").set_value(["female"]).run()
    assert problems(at) == []
    assert "No clip matches these filters." in [w.value for w in at.warning]


def test_without_data_it_explains_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.delenv("SER_DATA_DIR", raising=False)
    monkeypatch.setattr("ui.paths.DEV_DATA_DIR", tmp_path / "absent")
    at = _page()
    assert problems(at) == []
    assert "No corpus loaded yet" in at.info[0].value
    assert [b.label for b in at.button if "Download" in b.label] == ["Download RAVDESS"]


def test_folder_path_form(app_env, tmp_path):
    at = _page()
    at.text_input(key="folder_path").input(str(tmp_path / "missing"))
    at.button(key="FormSubmitter:folder_form-Use this folder").click().run()
    assert "no longer there" in at.warning[0].value
    assert "No corpus loaded yet" in at.info[0].value
    at.text_input(key="folder_path").input(str(app_env["data"] / "Actor_02"))
    at.button(key="FormSubmitter:folder_form-Use this folder").click().run()
    assert problems(at) == []
    assert _metrics(at)["Clips"] == "16"


def _zip_of(folder) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.wav"))[:10]:
            archive.write(path, f"Actor_01/{path.name}")
    return buffer.getvalue()


def test_uploaded_zip_is_indexed(app_env):
    at = _page()
    at.file_uploader(key="corpus_zip").upload("ravdess.zip", _zip_of(app_env["data"] / "Actor_01"),
                                               "application/zip")
    at.run()
    [b for b in at.button if b.label == "Index this zip"][0].click().run()
    assert problems(at) == []
    assert _metrics(at)["Clips"] == "10"


def test_zip_entries_that_would_leave_the_folder_are_skipped_and_named(app_env):
    buffer = io.BytesIO(_zip_of(app_env["data"] / "Actor_01"))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("../../escape.wav", b"RIFF")
        archive.writestr("/etc/evil.wav", b"RIFF")
    at = _page()
    at.file_uploader(key="corpus_zip").upload("slip.zip", buffer.getvalue(), "application/zip")
    at.run()
    [b for b in at.button if b.label == "Index this zip"][0].click().run()
    assert problems(at) == []
    assert _metrics(at)["Clips"] == "10"
    (warning,) = [w.value for w in at.warning if "not unpacked" in w.value]
    assert warning.startswith("2 entries") and "escape.wav" in warning and "evil.wav" in warning


def test_bad_zip_shows_an_error(app_env):
    at = _page()
    at.file_uploader(key="corpus_zip").upload("broken.zip", b"PK\x03\x04 not really", "application/zip")
    at.run()
    [b for b in at.button if b.label == "Index this zip"][0].click().run()
    assert [e.value for e in at.exception] == []
    assert "broken.zip is not a readable zip archive" in at.error[0].value, "named as the visitor named it"


@pytest.fixture
def mirror(http_file_server, make_ravdess_zip, tmp_path, monkeypatch):
    names = [f"Actor_01/03-01-{e:02d}-01-01-01-01.wav" for e in range(1, 9)]
    archive = make_ravdess_zip(tmp_path / "mirror.zip", names)
    http_file_server.files["ravdess.zip"] = archive.read_bytes()
    monkeypatch.setenv("SER_RAVDESS_URL", http_file_server.url("ravdess.zip"))
    return http_file_server


def test_download_button_fetches_verifies_and_loads(app_env, mirror, tmp_path):
    at = _page()
    at.text_input(key="download_dest").set_value(str(tmp_path / "downloaded")).run()
    [b for b in at.button if b.label == "Download RAVDESS"][0].click().run()
    assert problems(at) == []
    assert _metrics(at)["Clips"] == "8"
    assert (tmp_path / "downloaded" / "Actor_01").is_dir()


def test_download_failure_is_an_error_not_a_traceback(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SER_RAVDESS_URL", "http://127.0.0.1:9/nothing-listens-here.zip")
    at = _page()
    at.text_input(key="download_dest").set_value(str(tmp_path / "downloaded")).run()
    [b for b in at.button if b.label == "Download RAVDESS"][0].click().run()
    assert [e.value for e in at.exception] == []
    assert at.error[0].value.startswith("Download failed:")
    assert _metrics(at)["Clips"] == "48", "the page still shows the corpus it had"


# ---------------------------------------------------------------- your own data
def test_a_manifest_corpus_is_explored_and_checked_for_leakage(app_env, tiny_manifest, monkeypatch):
    monkeypatch.setenv("SER_DATA_DIR", str(tiny_manifest))
    at = _page()
    assert problems(at) == []
    metrics = _metrics(at)
    assert (metrics["Corpus"], metrics["Clips"], metrics["Speakers"]) == ("CLIPS", "24", "3")
    assert at.multiselect(key="filter_label").options == ["alegría", "calma", "ira", "tristeza"]
    assert at.selectbox(key="explorer_leakage_protocol").value == "kfold"  # 3 speakers: 3 folds
    [b for b in at.button if b.label == "Check for leakage"][0].click().run()
    assert problems(at) == []
    assert _metrics(at)["Leaks"] == "0" and "No leak found" in at.success[0].value
    at.selectbox(key="explorer_leakage_protocol").set_value("random").run()
    assert _metrics(at)["Leaks"] == "1" and "speakers are in both" in at.error[0].value


def test_a_folder_per_label_corpus_from_the_folder_form(app_env, tiny_ravdess, tmp_path):
    from ser_core.data.naming import PARSERS

    for number, path in enumerate(sorted(tiny_ravdess.rglob("*.wav"))):
        target = tmp_path / "mine" / PARSERS["ravdess"](path)["label"] / f"take{number:02d}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    at = _page()
    at.text_input(key="folder_path").input(str(tmp_path / "mine"))
    at.button(key="FormSubmitter:folder_form-Use this folder").click().run()
    assert problems(at) == []
    metrics = _metrics(at)
    assert (metrics["Corpus"], metrics["Clips"], metrics["Speakers"]) == ("MINE", "48", "0")
    assert at.selectbox(key="explorer_leakage_protocol").value == "random"  # no speakers: no k-fold


def test_a_manifest_of_several_corpora_is_counted_by_corpus(app_env, tiny_corpora, monkeypatch):
    monkeypatch.setenv("SER_DATA_DIR", str(tiny_corpora))
    at = open_page("dataset")
    assert problems(at) == []
    assert {m.label for m in at.multiselect} >= {"Corpus", "Emotion", "Speaker"}
    assert at.multiselect(key="filter_corpus").options == ["a", "b", "c"]
    at.multiselect(key="filter_corpus").set_value(["c"]).run()
    assert "18 of 54 clips match." in [c.value for c in at.caption]
    assert "leave one corpus out (each corpus in turn)" in at.selectbox(key="explorer_leakage_protocol").options
