"""The models shipped in artifacts/: each loads, classifies real speech and states its protocol; the README quotes them."""

from pathlib import Path

import numpy as np
import pytest

from ser_core.data.labels import EMOTIONS
from ser_core.modelfolder.loaded import EnsembleModel
from ser_core.modelfolder.read import PROJECT_ARTIFACTS, default_model_dir, load_model, read_metrics

SHIPPED = sorted(path.name for path in PROJECT_ARTIFACTS.iterdir() if path.is_dir() and not path.name.startswith("."))
README = Path(__file__).resolve().parents[1] / "README.md"
ANGRY_CLIP = ("Actor_01", "03-01-05-02-01-01-01.wav")


def test_every_shipped_model_is_found():
    assert {"cnn-compare-ensemble", "compare-adaptive-lr", "logmel-cnn"} <= set(SHIPPED)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_loads_classifies_speech_and_states_its_protocol(name, ravdess_16k):
    folder = PROJECT_ARTIFACTS / name
    model = load_model(folder)
    probabilities = model.predict_audio(ravdess_16k.joinpath(*ANGRY_CLIP)).to_array()
    assert sorted(model.labels) == sorted(EMOTIONS) and probabilities.shape == (len(EMOTIONS),)
    assert np.isfinite(probabilities).all() and abs(probabilities.sum() - 1) < 1e-5
    headline = model.metrics.headline
    assert headline is not None and headline.speaker_independent, "judged first on new speakers"
    assert headline.title in (folder / "MODEL_CARD.md").read_text()
    assert not [path for path in folder.rglob("*") if path.suffix in (".joblib", ".pkl", ".pickle")], "no pickle"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_card_is_what_its_folder_says(name):
    """Each MODEL_CARD.md (and an ensemble's members' cards) is the card its config and metrics give today."""
    from ser_core.modelfolder.card import model_card
    from ser_core.modelfolder.read import read_config
    from ser_core.modelfolder.reliability import folder_reliability

    folder = PROJECT_ARTIFACTS / name
    for card in [folder / "MODEL_CARD.md", *sorted((folder / "members").glob("*/MODEL_CARD.md"))]:
        metrics = read_metrics(card.parent)
        expected = model_card(read_config(card.parent), metrics,
                              reliability=folder_reliability(card.parent, metrics=metrics))
        assert card.read_text() == expected, f"{card} is stale: rewrite it with model_card()"


def test_the_noise_trained_heads_card_says_its_adapted_head_is_the_clean_ones():
    noisy, clean = (read_metrics(PROJECT_ARTIFACTS / name) for name in ("whisper-multicorpus", "whisper-multicorpus-clean"))
    for metric in ("accuracy", "uar", "macro_f1"):
        assert (noisy.protocols["kfold_speaker_adapted"].mean(metric)
                == clean.protocols["kfold_speaker_adapted"].mean(metric))
    assert "learns from the clean clips only" in (PROJECT_ARTIFACTS / "whisper-multicorpus" / "MODEL_CARD.md").read_text()
    assert "learns from the clean clips only" not in (PROJECT_ARTIFACTS / "whisper-multicorpus-clean" /
                                                      "MODEL_CARD.md").read_text()


def test_the_default_is_the_ensemble_within_its_budget():
    folder = default_model_dir()
    assert folder.name == "multicorpus-ensemble"
    assert sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) <= 20e6


@pytest.mark.slow
def test_the_default_averages_the_calibrated_members_that_serve_the_recording(ravdess_16k):
    from ser_core.audio import corrupt
    from ser_core.audio.preprocess import load_audio

    model = load_model(default_model_dir())
    assert isinstance(model, EnsembleModel) and model.supports_speaker_adaptation and model.gated
    studio = load_audio(ravdess_16k.joinpath(*ANGRY_CLIP), sample_rate=16000)
    for y, serving in ((studio, "inside"), (corrupt.telephone_band(studio, sample_rate=16000), "outside")):
        members = [member for (member, _), domain in zip(model.members, model.domains) if domain.serves == serving]
        average = np.mean([member.predict_audio(y, sample_rate=16000).to_array() for member in members], axis=0)
        expected = np.exp(np.log(average) / model.temperature)
        np.testing.assert_allclose(model.predict_audio(y, sample_rate=16000).to_array(), expected / expected.sum(),
                                   atol=1e-5)
        X = model.stack_features([model.features(y, sample_rate=16000)])  # features in: the same as audio in
        np.testing.assert_allclose(model.predict_proba(X)[0], model.predict_audio(y, sample_rate=16000).to_array(),
                                   atol=1e-6)


def test_the_readme_quotes_the_default_figures():
    readme = README.read_text()
    metrics = read_metrics(default_model_dir())
    for protocol, keys in (("kfold", ("accuracy", "uar")), ("loco", ("uar",))):
        result = metrics.protocols[protocol]
        for key in keys:
            quoted = f"{100 * result.mean(key):.1f}% ± {100 * result.std(key):.1f}"
            assert quoted in readme, f"README should quote the default's {result.title} {key}: {quoted}"
