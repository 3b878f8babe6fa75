"""ser_core.wav2vec: hidden states from a tiny local Wav2Vec2, pooling, offline errors."""

import numpy as np
import pytest

from conftest import SAMPLE_RATE, tone
from ser_core.errors import FeatureError, OfflineError
from ser_core.features.wav2vec2 import hidden_states, load_wav2vec2, pool_hidden_states


def n_frames(n_samples):
    """Frames the tiny model's CNN (kernels 10, 8; strides 5, 4) gives."""
    first = (n_samples - 10) // 5 + 1
    return (first - 8) // 4 + 1


def test_hidden_states_shape(tiny_wav2vec2, speech_clip):
    states = hidden_states(speech_clip, model=str(tiny_wav2vec2))
    assert states.shape == (3, n_frames(speech_clip.size), 32)
    assert states.dtype == np.float32 and np.isfinite(states).all()
    bundle = load_wav2vec2(tiny_wav2vec2)
    assert (bundle.n_layers, bundle.hidden_size, bundle.device) == (2, 32, "cpu")
    np.testing.assert_allclose(hidden_states(speech_clip, model=bundle), states, atol=1e-6)


def test_model_is_loaded_once_per_process(tiny_wav2vec2):
    assert load_wav2vec2(str(tiny_wav2vec2)) is load_wav2vec2(str(tiny_wav2vec2))


def test_folder_without_preprocessor_config_uses_defaults(tiny_wav2vec2, tmp_path, tone_clip):
    import shutil

    folder = tmp_path / "no-extractor"
    shutil.copytree(tiny_wav2vec2, folder)
    (folder / "preprocessor_config.json").unlink()
    np.testing.assert_allclose(
        hidden_states(tone_clip, model=str(folder)), hidden_states(tone_clip, model=str(tiny_wav2vec2)), atol=1e-6
    )


@pytest.mark.parametrize(
    "pooling, layers, expected",
    [
        ("mean", "all", lambda s: s.mean(axis=0).mean(axis=0)),
        ("mean", "last", lambda s: s[-1].mean(axis=0)),
        ("mean", "1", lambda s: s[1].mean(axis=0)),
        ("meanstd", "last", lambda s: np.concatenate([s[-1].mean(axis=0), s[-1].std(axis=0)])),
    ],
)
def test_pooling(pooling, layers, expected):
    states = np.random.default_rng(0).standard_normal((3, 50, 32)).astype(np.float32)
    np.testing.assert_allclose(pool_hidden_states(states, pooling=pooling, layers=layers), expected(states), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, shape",
    [(dict(pooling="max"), (3, 5, 4)), (dict(layers="7"), (3, 5, 4)), (dict(layers="first"), (3, 5, 4)), ({}, (5, 4))],
)
def test_pooling_rejects_bad_settings(kwargs, shape):
    with pytest.raises(FeatureError):
        pool_hidden_states(np.zeros(shape), **kwargs)


def test_unreachable_hub_model_offline(monkeypatch, tone_clip):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="nobody-here/no-such-wav2vec2.*could not be downloaded.*local folder"):
        load_wav2vec2("nobody-here/no-such-wav2vec2")
    with pytest.raises(OfflineError):
        hidden_states(tone_clip, model="nobody-here/no-such-wav2vec2")


@pytest.mark.parametrize("make", [lambda tmp: tmp / "missing", lambda tmp: tmp], ids=["missing folder", "no config"])
def test_bad_local_folders(make, tmp_path):
    with pytest.raises(FeatureError, match="not a Wav2Vec2 model folder"):
        load_wav2vec2(str(make(tmp_path)))


@pytest.mark.parametrize(
    "y, sample_rate", [(tone(duration_s=0.01), SAMPLE_RATE), (tone(), 8000), (np.zeros((2, 16000)), SAMPLE_RATE)]
)
def test_bad_audio(tiny_wav2vec2, y, sample_rate):
    with pytest.raises(FeatureError):
        hidden_states(y, model=str(tiny_wav2vec2), sample_rate=sample_rate)
