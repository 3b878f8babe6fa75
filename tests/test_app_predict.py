"""The Predict page in AppTest: uploads, recordings, long clips and bad input."""

import numpy as np
import pytest

from app_support import TINY_MODEL, open_page, problems, wav_bytes
from conftest import SAMPLE_RATE, speechlike


def _page(tab: str | None = None):
    """Predict opened, then the tab whose label ends with ``tab`` (only the open tab runs)."""
    from ui.predict_tabs import TAB_KEY, TABS

    at = open_page("predict")
    if tab is not None:
        at.session_state[TAB_KEY] = next(label for label in TABS if label.endswith(tab))
        at.run()
    return at


def _prediction(at) -> str | None:
    chips = [m.value for m in at.markdown if "ser-chip" in m.value]
    return chips[0] if chips else None


def test_page_offers_model_sources_and_formats(app_env):
    at = _page()
    assert problems(at) == []
    assert at.selectbox(key="predict_model").value == TINY_MODEL
    assert at.radio(key="predict_source").options == ["Upload", "Record", "Example", "Corpus clip"]
    assert set(at.file_uploader[0].allowed_type) >= {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".webm"}


@pytest.fixture
def live_env(app_env, monkeypatch):
    """app_env without any live-microphone (ICE) setting from the developer's environment."""
    from ui.webrtc import LIBRARY_PROVIDERS, SETTINGS

    for name in [*SETTINGS.values(), *(n for names in LIBRARY_PROVIDERS.values() for n in names)]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("mode", "turn", "streams"), [
    ("local", False, True),  # unchanged: the browser reaches the server directly
    ("public", False, False),  # a hosted deploy without TURN would spin for ever: explain instead
    ("public", True, True),
])
def test_live_tab_streams_locally_or_through_turn_and_explains_itself_otherwise(live_env, mode, turn, streams):
    live_env.setenv("SER_MODE", mode)
    if turn:
        live_env.setenv("SER_TURN_URLS", "turn:turn.example.org:3478")
        live_env.setenv("SER_TURN_USERNAME", "visitor")
        live_env.setenv("SER_TURN_CREDENTIAL", "hunter2")
    at = _page("Live")
    assert problems(at) == [] and at.warning == []
    toggles = [t for t in at.toggle if t.key == "live_enabled"]
    assert [t.value for t in toggles] == ([False] if streams else [])
    notes = [i.value for i in at.info if "TURN relay" in i.value]
    assert len(notes) == (0 if streams else 1)
    if notes:
        assert "Record a clip instead" in notes[0] and "**Upload or record**" in notes[0]


def test_upload_shows_label_probabilities_and_waveform(app_env):
    at = _page()
    at.file_uploader[0].upload("clip.wav", wav_bytes(speechlike(duration_s=3.0)), "audio/wav")
    at.run()
    assert problems(at) == []
    chip = _prediction(at)
    assert chip is not None and "%" in chip
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # probabilities and waveform; no timeline for a short clip


def test_long_clip_gets_an_emotion_timeline(app_env):
    at = _page()
    y = np.concatenate([speechlike(duration_s=3.0, seed=s) for s in range(4)])
    at.file_uploader[0].upload("long.wav", wav_bytes(y), "audio/wav")
    at.run()
    assert problems(at) == []
    assert "Emotion over time" in [h.value for h in at.subheader]
    assert len(at.get("plotly_chart")) == 3


def test_browser_recording_is_classified(app_env):
    at = _page()
    at.radio(key="predict_source").set_value("Record").run()
    at.audio_input[0].upload("recording.wav", wav_bytes(speechlike(duration_s=2.0)))
    at.run()
    assert problems(at) == []
    assert _prediction(at) is not None


def test_corpus_clip_is_classified_with_its_true_label(app_env):
    at = _page()
    at.radio(key="predict_source").set_value("Corpus clip").run()
    assert problems(at) == []
    assert _prediction(at) is not None
    assert any(m.value.startswith(("✓", "✗")) and "acted **" in m.value for m in at.markdown)


def test_one_click_classifies_a_shipped_example_and_shows_right_or_wrong(app_env):
    from ui import examples

    at = _page()
    at.radio(key="predict_source").set_value("Example").run()
    assert problems(at) == []
    from ser_core.modelfolder.read import default_model_dir, read_config

    config = read_config(default_model_dir())
    shipped = sorted(examples.examples(), key=lambda example: examples.heard_in_training(example, config))
    assert not examples.heard_in_training(shipped[0], config), "voices the model never heard come first"
    assert at.selectbox(key="predict_example").options == [example.title for example in shipped]
    assert _prediction(at) is not None
    check = next(m.value for m in at.markdown if m.value.startswith(("✓", "✗")))
    assert f"acted **{shipped[0].label}**" in check
    assert any(shipped[0].licence in c.value for c in at.caption), "the example's licence is shown"
    assert any(c.value.startswith(":material/volume_up: Listen:") for c in at.caption), "the player is named"


def test_the_score_is_worded_from_measured_reliability(app_env):
    at = _page()
    at.radio(key="predict_source").set_value("Example").run()
    assert any("of the time on speakers it never heard" in c.value or "no measured record" in c.value
               for c in at.caption)


def _tone(duration_s: float) -> bytes:
    t = np.arange(int(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    return wav_bytes((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))


def _white_noise() -> bytes:
    return wav_bytes((0.1 * np.random.default_rng(0).normal(size=4 * SAMPLE_RATE)).astype(np.float32))


@pytest.mark.parametrize(("name", "make", "expected"), [("tone.wav", lambda: _tone(0.1), "too short"),
                                                        ("noise.wav", _white_noise, "steady noise")])
def test_a_tone_or_noise_gets_no_measured_confidence(app_env, name, make, expected):
    """A verdict is still drawn, but flagged, and no reliability measured on speech is quoted for it."""
    at = _page()
    at.file_uploader[0].upload(name, make(), "audio/wav")
    at.run()
    assert problems(at) == []
    (doubt,) = [w.value for w in at.warning if "may not be speech" in w.value]
    assert expected in doubt
    assert not any("of the time on speakers it never heard" in c.value for c in at.caption)
    assert any("does not apply here" in c.value for c in at.caption)
    at.file_uploader[0].clear().upload("speech.wav", wav_bytes(speechlike(duration_s=3.0)), "audio/wav")
    at.run()
    assert not any("may not be speech" in w.value for w in at.warning)


def _thirty_minutes() -> bytes:
    rate = 8000
    t = np.arange(30 * 60 * rate) / rate
    return wav_bytes((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), sample_rate=rate)


def _cut_short() -> bytes:
    """A WAV cut after its first 0.2 s, which are silent: the header still promises 3.2 s."""
    y = np.concatenate([np.zeros(SAMPLE_RATE, dtype=np.float32), speechlike(duration_s=2.2)])
    return wav_bytes(y)[:44 + 2 * SAMPLE_RATE // 5]


BAD_INPUT = [
    ("text.wav", lambda: b"this is a text file, renamed to .wav\n" * 20, "decode"),
    ("cut-short.wav", _cut_short, "damaged"),
    ("silence.wav", lambda: wav_bytes(np.zeros(SAMPLE_RATE, dtype=np.float32)), "silent"),
    ("document.mp3", lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 10, "decode"),
    ("empty.flac", lambda: b"", "0 bytes"),
    ("long.wav", _thirty_minutes, "at most 600"),
]


@pytest.mark.parametrize(("name", "make", "expected"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_shows_an_error_and_the_page_stays_usable(app_env, name, make, expected):
    at = _page()
    at.file_uploader[0].upload(name, make(), "application/octet-stream")
    at.run()
    assert [e.value for e in at.exception] == []
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and name in errors[0] and expected in errors[0].lower()
    assert "Traceback" not in errors[0]
    at.file_uploader[0].clear().upload("good.wav", wav_bytes(speechlike()), "audio/wav")
    at.run()
    assert problems(at) == []
    assert _prediction(at) is not None


def test_no_model_explains_how_to_get_one(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(tmp_path / "empty"))
    at = _page()
    assert problems(at) == []
    assert "No trained model" in at.warning[0].value


# ---------------------------------------------------------------- adapt to this voice (issue 5)
@pytest.fixture
def adaptive_env(app_env, monkeypatch, adaptive_models):
    """The app pointed at an artifacts folder whose default model has a speaker-adapted head."""
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(adaptive_models))
    return {**app_env, "artifacts": adaptive_models}


def _enrolment_files(corpus, n):
    """``n`` clips of actor 01 as (name, bytes, mime) upload tuples."""
    paths = sorted((corpus / "Actor_01").glob("*.wav"))[:n]
    return [(p.name, p.read_bytes(), "audio/wav") for p in paths]


def test_adaptation_tab_explains_a_model_without_an_adapted_head(app_env):
    at = _page("Adapt to a voice")
    assert problems(at) == []
    assert any("cannot be adapted to a voice" in i.value for i in at.info)
    assert "adapt_button" not in [b.key for b in at.button]
    assert [t.label for t in at.tabs][-1].endswith("Adapt to a voice")


def test_adapt_with_uploads_then_compare_both_heads(adaptive_env):
    at = _page("Adapt to a voice")
    assert problems(at) == []
    assert at.button(key="adapt_button").disabled  # no enrolment clips yet
    at.file_uploader(key="adapt_enrol_upload").set_value(_enrolment_files(adaptive_env["data"], 3))
    at.run()
    assert problems(at) == []
    assert at.metric[0].value == "3" and not at.button(key="adapt_button").disabled
    at.button(key="adapt_button").click().run()
    assert problems(at) == []
    assert "from 3 clip(s)" in at.success[0].value
    at.radio(key="adapt_test_source").set_value("Corpus clip").run()
    assert problems(at) == []
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert sum("Single clip (not adapted)" in t for t in titles) == 1
    assert sum("Adapted to this voice" in t for t in titles) == 1
    assert any("adapted to this voice" in m.value and "ser-chip" in m.value for m in at.markdown)
    # Changing the enrolment clips makes the adaptation stale until it is redone.
    at.file_uploader(key="adapt_enrol_upload").set_value(_enrolment_files(adaptive_env["data"], 4)).run()
    assert any("adapt again" in w.value for w in at.warning)


def test_recordings_accumulate_and_can_be_forgotten(adaptive_env):
    at = _page("Adapt to a voice")
    for seed in range(2):
        recorder = [a for a in at.audio_input if a.key.startswith("adapt_enrol_record_")][0]
        recorder.upload(f"r{seed}.wav", wav_bytes(speechlike(duration_s=2.0, seed=seed, pitch_hz=120 + 30 * seed)))
        at.run()
        assert problems(at) == []
    assert at.metric[0].value == "2"
    assert any("1 more clip" in c.value for c in at.caption)
    at.button(key="adapt_button").click().run()
    assert problems(at) == [] and "from 2 clip(s)" in at.success[0].value
    at.button(key="adapt_clear").click().run()
    assert at.metric[0].value == "0" and at.button(key="adapt_button").disabled


def test_bad_enrolment_clips_are_left_out_and_named(adaptive_env):
    at = _page("Adapt to a voice")
    silence = wav_bytes(np.zeros(SAMPLE_RATE, dtype=np.float32))
    bad = [("silence.wav", silence, "audio/wav"), ("empty.wav", b"", "audio/wav")]
    at.file_uploader(key="adapt_enrol_upload").set_value(_enrolment_files(adaptive_env["data"], 2) + bad).run()
    at.button(key="adapt_button").click().run()
    assert problems(at) == []
    assert "from 2 clip(s)" in at.success[0].value
    (warning,) = [w.value for w in at.warning if "Left out" in w.value]
    assert "silence.wav" in warning and "silent" in warning.lower() and "empty.wav" in warning
    # Too few usable clips: one error naming every clip that failed.
    at.file_uploader(key="adapt_enrol_upload").set_value(_enrolment_files(adaptive_env["data"], 1) + bad).run()
    at.button(key="adapt_button").click().run()
    assert [e.value for e in at.exception] == []
    (error,) = [e.value for e in at.error]
    assert "1 of the 3 enrolment clips" in error and "silence.wav" in error and "empty.wav" in error


def test_only_the_open_tab_runs(live_env):
    live_env.setenv("SER_MODE", "local")
    at = _page()
    assert problems(at) == []
    assert at.file_uploader and not [t for t in at.toggle if t.key == "live_enabled"]
    assert "adapt_button" not in [b.key for b in at.button]
    at = _page("Live")
    assert [t.key for t in at.toggle if t.key == "live_enabled"] == ["live_enabled"]
    assert not [u for u in at.file_uploader if u.key and u.key.startswith("predict")]


# ---------------------------------------------------------------- CSV downloads
def _downloads(at) -> list[str]:
    return [element.proto.label for element in at.get("download_button")]


def test_short_and_long_clips_offer_a_csv_download(app_env):
    at = _page()
    at.file_uploader[0].upload("clip.wav", wav_bytes(speechlike(duration_s=3.0)), "audio/wav")
    at.run()
    assert problems(at) == [] and _downloads(at) == ["Download as CSV"]
    y = np.concatenate([speechlike(duration_s=3.0, seed=s) for s in range(4)])
    at.file_uploader[0].upload("long.wav", wav_bytes(y), "audio/wav")
    at.run()
    assert problems(at) == [] and _downloads(at) == ["Download the timeline as CSV"]


def test_a_four_label_model_shows_its_own_labels(app_env, tiny_manifest, tmp_path, monkeypatch):
    from app_support import train_tiny_model

    root = tmp_path / "artifacts"
    train_tiny_model(root, tiny_manifest, name="spanish")
    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(root))
    at = _page()
    assert "emotions: alegría, calma, ira, tristeza" in " ".join(c.value for c in at.caption)
    at.file_uploader[0].upload("clip.wav", wav_bytes(speechlike(duration_s=3.0)), "audio/wav")
    at.run()
    assert problems(at) == []
    chip = _prediction(at)
    assert any(label in chip for label in ("alegría", "calma", "ira", "tristeza"))
    import json

    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    (bars,) = [figure["data"] for figure in figures if "score per emotion" in str(figure["layout"].get("title"))]
    assert [bar["name"] for bar in bars] == ["alegría", "calma", "ira", "tristeza"]
    assert len({bar["marker"]["color"] for bar in bars}) == 4


def test_a_long_recording_waits_for_its_turn_in_the_servers_queue(app_env):
    """Long recordings are analysed a few at a time in the server (``SER_MAX_LONG_CLIPS``): this one waits, then runs."""
    import threading
    import time

    from ui import cache

    y = np.concatenate([speechlike(duration_s=3.0, seed=s) for s in range(24)])  # 86 s: 2.6 MB of 16-bit WAV
    queue = cache.long_clip_queue()
    holding, release, seen_waiting = threading.Event(), threading.Event(), []

    def another_visitor():
        with queue.slot():
            holding.set()
            deadline = time.time() + 30
            while queue.waiting == 0 and time.time() < deadline:  # until this visitor is in line
                time.sleep(0.05)
            seen_waiting.append(queue.waiting)
            release.wait(1.0)

    other = threading.Thread(target=another_visitor)
    other.start()
    assert holding.wait(10)
    at = _page()
    at.file_uploader[0].upload("long.wav", wav_bytes(y), "audio/wav")
    at.run(timeout=300)
    other.join(10)
    assert problems(at) == [] and _prediction(at) is not None
    assert seen_waiting == [1] and (queue.running, queue.waiting) == (0, 0)
    assert "Emotion over time" in [h.value for h in at.subheader]


def test_a_telephone_recording_says_the_default_left_its_studio_member_out(app_env, monkeypatch, ravdess_16k):
    """The shipped default's CNN heard only clean wide-band speech: a narrow-band clip is classified without it."""
    from app_support import REPO
    from ser_core.audio import corrupt
    from ser_core.audio.preprocess import load_audio

    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(REPO / "artifacts"))
    clip = load_audio(sorted((ravdess_16k / "Actor_02").glob("*.wav"))[10], sample_rate=SAMPLE_RATE)
    at = _page()
    at.file_uploader[0].upload("phone.wav", wav_bytes(corrupt.telephone_band(clip, sample_rate=SAMPLE_RATE)),
                               "audio/wav")
    at.run(timeout=120)
    assert problems(at) == [] and _prediction(at) is not None
    notes = [info.value for info in at.info]
    assert any("'logmel-cnn'" in note and "left" in note for note in notes), notes


def test_the_adaptation_gain_quotes_corpora_never_heard_when_the_card_has_them():
    from types import SimpleNamespace

    from ser_core.modelfolder.results import ModelMetrics
    from ui.prediction import adaptation_gain

    def result(uar, **settings):
        folds = [{"test_corpus": name, "uar": uar, "accuracy": uar} for name in ("nemo", "tess")]
        return {"folds": folds, "summary": {"uar": {"mean": uar, "n": 2}, "accuracy": {"mean": uar, "n": 2}},
                "settings": settings}

    kfold = {"kfold": result(0.7), "kfold_speaker_adapted": result(0.8)}
    both = {**kfold, "loco": result(0.43), "loco_speaker_adapted": result(0.562, enrolment="all of each speaker's clips")}
    text = adaptation_gain(SimpleNamespace(name="m", metrics=ModelMetrics.from_dict({"protocols": both})))
    assert text.startswith("On corpora it never heard (nEMO, TESS; each left out of training in turn), m recognises "
                           "43.0% of emotions (UAR) one clip at a time and 56.2% adapted to each voice from all of "
                           "each speaker's clips (emotions unknown)")
    text = adaptation_gain(SimpleNamespace(name="m", metrics=ModelMetrics.from_dict({"protocols": kfold})))
    assert text.startswith("On RAVDESS actors it never heard, m goes from 70.0% to 80.0% accuracy")
    assert adaptation_gain(SimpleNamespace(name="m", metrics=None)) == ""


def test_a_shipped_example_quotes_the_defaults_figure_on_its_corpus_left_out(app_env, monkeypatch):
    """Home's example caption and Predict's agree: how the default did on the example's corpus, never heard."""
    from app_support import REPO
    from ser_core.modelfolder.read import default_model_dir, read_metrics
    from ui import examples

    monkeypatch.setenv("SER_ARTIFACTS_DIR", str(REPO / "artifacts"))
    at = _page()
    at.radio(key="predict_source").set_value("Example").run(timeout=120)
    assert problems(at) == [] and _prediction(at) is not None
    example = next(e for e in examples.examples() if e.title == at.selectbox(key="predict_example").value)
    loco = read_metrics(default_model_dir(REPO / "artifacts")).protocols["loco"]
    expected = examples.track_record(example, loco.per_corpus)
    assert expected and "left out of its training" in expected
    assert expected in [c.value for c in at.caption]
