"""Wav2Vec2 hidden states through transformers (torch), imported only when used.

:func:`load_wav2vec2` takes a hub id (default ``facebook/wav2vec2-base``) or a local
folder written by ``save_pretrained``. With ``HF_HUB_OFFLINE=1`` (or
``TRANSFORMERS_OFFLINE=1``) only the local hub cache is consulted. When the weights
can be neither found locally nor downloaded, :class:`OfflineError` says so and suggests
a local folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ser_core.errors import FeatureError, OfflineError

DEFAULT_MODEL = "facebook/wav2vec2-base"
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Wav2Vec2Bundle:
    """A loaded model with its feature extractor and the torch device it runs on."""

    model: Any
    feature_extractor: Any
    device: str
    source: str

    @property
    def n_layers(self) -> int:
        """Number of transformer layers (hidden states are one more)."""
        return int(self.model.config.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        """Width of each hidden state."""
        return int(self.model.config.hidden_size)


def _offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in ("1", "true", "yes", "on") for flag in flags)


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or Path(name).expanduser().exists()


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_wav2vec2(model_id_or_path: str = DEFAULT_MODEL, *, device: str | None = None) -> Wav2Vec2Bundle:
    """Load a Wav2Vec2 model and its feature extractor (cached per process).

    Raises :class:`OfflineError` when a hub id cannot be found locally nor downloaded,
    and :class:`FeatureError` for a local folder that is missing or holds no model.
    """
    name = os.fspath(model_id_or_path)
    return _load_cached(name, device or _default_device(), _offline())


@lru_cache(maxsize=2)
def _load_cached(name: str, device: str, offline: bool) -> Wav2Vec2Bundle:
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

    local = _looks_like_path(name)
    if local:
        folder = Path(name).expanduser()
        if not (folder / "config.json").is_file():
            raise FeatureError(f"'{name}' is not a Wav2Vec2 model folder; expected a folder with config.json")
        name = str(folder)
    local_only = local or offline
    try:
        model = Wav2Vec2Model.from_pretrained(name, local_files_only=local_only)
    except Exception as exc:  # hub, network and file errors come in many classes
        if local:
            raise FeatureError(f"could not load a Wav2Vec2 model from '{name}': {exc}") from exc
        how = "offline mode is on (HF_HUB_OFFLINE)" if offline else "the download failed"
        raise OfflineError(
            f"Wav2Vec2 model '{name}' could not be downloaded and is not in the local cache ({how}: "
            f"{type(exc).__name__}). Connect to the internet once, or pass a local folder written by "
            f"save_pretrained (e.g. W2V2-mean-all:/path/to/wav2vec2-base)."
        ) from exc
    try:
        extractor = Wav2Vec2FeatureExtractor.from_pretrained(name, local_files_only=local_only)
    except Exception:  # some checkpoints ship no preprocessor_config.json: wav2vec2-base's defaults
        extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, do_normalize=True)
    model.eval().to(device)
    return Wav2Vec2Bundle(model=model, feature_extractor=extractor, device=device, source=name)


def hidden_states(
    y: np.ndarray,
    *,
    model: str | Wav2Vec2Bundle = DEFAULT_MODEL,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Return every hidden state of one clip: float32 ``(n_layers + 1, n_frames, hidden_size)``.

    Index 0 is the CNN feature projection, the last index the top transformer layer;
    frames are 20 ms apart at 16 kHz.
    """
    import torch

    if sample_rate != SAMPLE_RATE:
        raise FeatureError(f"audio is at {sample_rate} Hz; Wav2Vec2 expects {SAMPLE_RATE} Hz")
    bundle = model if isinstance(model, Wav2Vec2Bundle) else load_wav2vec2(model)
    y = np.asarray(y, dtype=np.float32)
    min_samples = 400  # the CNN's receptive field: shorter input gives no frame
    if y.ndim != 1 or y.size < min_samples:
        raise FeatureError(f"audio has shape {y.shape}; Wav2Vec2 expects mono audio of at least {min_samples} samples")
    inputs = bundle.feature_extractor(y, sampling_rate=SAMPLE_RATE, return_tensors="pt")
    with torch.inference_mode():
        output = bundle.model(inputs.input_values.to(bundle.device), output_hidden_states=True)
    states = torch.stack(output.hidden_states, dim=0)[:, 0]
    return states.float().cpu().numpy()


def pool_hidden_states(states: np.ndarray, *, pooling: str = "mean", layers: str = "all") -> np.ndarray:
    """Pool ``(n_layers + 1, n_frames, dim)`` hidden states over time into one vector.

    layers: "all" averages every hidden state, "last" keeps the top one, or a layer
    index as a string or int. pooling: "mean" gives dim values, "meanstd" the mean then
    the standard deviation over time (2 * dim).
    """
    states = np.asarray(states, dtype=np.float32)
    if states.ndim != 3:
        raise FeatureError(f"hidden states have shape {states.shape}; expected (n_layers + 1, n_frames, dim)")
    layers = str(layers)
    if layers == "all":
        selected = states.mean(axis=0)
    elif layers == "last":
        selected = states[-1]
    elif layers.isdigit() and int(layers) < len(states):
        selected = states[int(layers)]
    else:
        raise FeatureError(f"layers is {layers!r}; expected 'all', 'last' or an index below {len(states)}")
    if pooling == "mean":
        return selected.mean(axis=0)
    if pooling == "meanstd":
        return np.concatenate([selected.mean(axis=0), selected.std(axis=0)])
    raise FeatureError(f"pooling is {pooling!r}; expected 'mean' or 'meanstd'")


def pooled(y: np.ndarray, *, spec) -> np.ndarray:
    """A ``W2V2-...`` feature vector of one preprocessed clip: hidden states pooled as ``spec`` says."""
    states = hidden_states(y, model=spec.model, sample_rate=spec.sample_rate)
    return pool_hidden_states(states, pooling=spec.pooling, layers=spec.layers)
