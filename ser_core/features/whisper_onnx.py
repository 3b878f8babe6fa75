"""Whisper-base's encoder as an ONNX graph, built from the NumPy weights, served by onnxruntime.

:func:`encoder_graph` writes the same forward pass as
:func:`ser_core.features.whisper.encoder_states`, op by op with ``onnx.helper``, from the
arrays :func:`~ser_core.features.whisper.load_encoder` reads: two kernel-3 convolutions
(the second of stride 2) with exact GELU, ``0.5 * x * (1 + erf(x / sqrt 2))``, the
sinusoidal positions sliced to the clip's length, then pre-LayerNorm transformer layers
(8-head self-attention, MLP 512 -> 2048 -> 512), the final LayerNorm only after layer 6.
Its one input is a log-mel ``(1, 80, n_frames)`` with ``n_frames`` free; its one output
the hidden states ``(up_to + 1, n_states, 512)``, indexed as ``encoder_states`` indexes them.

onnxruntime fuses the GELU into one kernel and runs the matrix products in blocks, which
makes a 3-s clip several times faster than NumPy with the same numbers to float32
rounding. The graph is exported at most once per process, and cached as a file beside
the joined model (keyed by the weights' SHA-256, the layer and :data:`GRAPH_VERSION`),
so a later process needs only onnxruntime to load it.

Examples
--------
>>> session = encoder_session(3)  # doctest: +SKIP
>>> run(session, log_mel(y)).shape  # doctest: +SKIP
(4, 150, 512)
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ser_core.errors import FeatureError

#: Raise when the graph changes, so that older cached files are not read.
GRAPH_VERSION = 1
OPSET = 17
IR_VERSION = 8
INPUT_NAME = "log_mel"
OUTPUT_NAME = "states"
#: Threads of one encoder run (onnxruntime's intra-op threads): two halved the median latency
#: of a 3-s clip on a busy 2-core machine, and more would crowd a server's other sessions.
THREADS = min(2, os.cpu_count() or 1)


def graph_path(up_to: int) -> Path:
    """The cached graph of the encoder up to layer ``up_to``, beside the joined model folder."""
    from ser_core.features.whisper import MODEL_SHA256, default_model_folder

    return default_model_folder().parent / f"whisper-base-encoder-l{up_to}-{MODEL_SHA256[:12]}-g{GRAPH_VERSION}.onnx"


class _Builder:
    """Nodes and initializers under unique names."""

    def __init__(self):
        self.nodes, self.initializers = [], []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def weight(self, stem: str, array, *, dtype=np.float32) -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.array(array, dtype=dtype, order="C"), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        from onnx import helper

        output = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=self.name(op_type), **attributes))
        return output

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


def _attention(b: _Builder, x: str, w, scope: str) -> str:
    """8-head self-attention of ``(n, 512)`` states; the 1/sqrt(64) scale (a power of two) is applied to q."""
    from ser_core.features.whisper import N_HEADS, WIDTH

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


def encoder_graph(weights, *, up_to: int):
    """The encoder up to layer ``up_to`` as an ONNX ModelProto (needs the ``onnx`` package)."""
    from onnx import TensorProto, checker, helper

    from ser_core.features.whisper import N_LAYERS, N_MELS, WIDTH

    w = weights
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
        x = b.op("Add", x, _attention(b, h, w, f"{scope}/self_attention"))
        h = b.gelu(b.linear(b.layer_norm(x, w, f"{scope}/ffn/layer_norm"), w, f"{scope}/ffn/linear_0"))
        x = b.op("Add", x, b.linear(h, w, f"{scope}/ffn/linear_1"))
        states.append(x)
    if up_to == N_LAYERS:
        states[-1] = b.layer_norm(x, w, "layer_norm")
    axes = b.weight("axes", [0], dtype=np.int64)
    b.nodes.append(helper.make_node("Concat", [b.op("Unsqueeze", s, axes) for s in states], [OUTPUT_NAME],
                                    name="states", axis=0))
    graph = helper.make_graph(
        b.nodes, f"whisper_base_encoder_l{up_to}",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, N_MELS, "n_frames"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [up_to + 1, "n_states", WIDTH])],
        initializer=b.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ser_core")
    model.ir_version = IR_VERSION
    checker.check_model(model)
    return model


def _open(data: bytes, *, threads: int):
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

    ``threads``: onnxruntime's intra-op threads (default :data:`THREADS`).

    Raises :class:`FeatureError` when the graph is not cached and the ``onnx`` package,
    needed to export it, is missing; ImportError when onnxruntime is.
    """
    import onnxruntime  # noqa: F401  (ImportError before any export work)

    from ser_core.atomic import write_bytes
    from ser_core.features.whisper import load_encoder

    threads = threads if threads is not None else THREADS
    path = graph_path(up_to)
    if path.is_file():
        try:
            return _open(path.read_bytes(), threads=threads)
        except Exception:  # noqa: BLE001  a damaged cache file is exported again below
            pass
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise FeatureError(f"the Whisper encoder graph {path} is not cached and exporting it needs the onnx package "
                           f"(pip install onnx)") from None
    data = encoder_graph(load_encoder(), up_to=up_to).SerializeToString()
    session = _open(data, threads=threads)
    write_bytes(path, data)
    return session


def run(session, mel: np.ndarray) -> np.ndarray:
    """Hidden states ``(up_to + 1, n_states, 512)`` of one checked log-mel ``(80, n_frames)``."""
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(mel, dtype=np.float32)[None]})[0]
