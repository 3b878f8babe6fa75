"""ONNX graphs of the trained networks, built from their weights (:mod:`ser_core.models.onnx_proto`).

Serving loads these graphs with onnxruntime alone (:mod:`ser_core.models.onnx_runtime`),
so a server needs neither torch nor TensorFlow, and a process never holds both (holding
both aborted it: ``malloc(): invalid size``). Each graph takes the family's features as
its one input, ``features`` (float32, batch first), applies the model's own input
normalisation, and returns ``probabilities`` (batch, classes) in ``classes_`` order.

The graphs are written op by op from the weights, so exporting needs neither torch's
exporter nor tf2onnx:

* :func:`logmel_cnn_graph`: the log-mel CNN (Conv, BatchNormalization, Relu, MaxPool,
  GlobalAveragePool, Gemm, Softmax), from its ``state_dict`` arrays;
* :func:`keras_graph`: the study's Keras networks, layer by layer (Conv1D,
  BatchNormalization, MaxPooling1D, GlobalAveragePooling1D, LSTM, Dense; Dropout is
  the identity in inference);
* :func:`mlp_graph`: the scikit-learn ``StandardScaler -> MLPClassifier`` pipeline.

:func:`export_estimator` picks the right one for a fitted estimator, and
:func:`max_probability_difference` checks a graph against the native model.

Examples
--------
>>> graph = export_estimator(estimator)  # doctest: +SKIP
>>> max_probability_difference(estimator, graph, X)  # doctest: +SKIP
3.1e-07
"""

from __future__ import annotations

import json

import numpy as np

from ser_core.errors import InputError, ModelError
from ser_core.models import onnx_proto
from ser_core.models.onnx_runtime import INPUT_NAME, LAYOUTS, ONNX_FILE, OUTPUT_NAME, OnnxClassifier

#: Opset and IR version of every graph: old enough for any onnxruntime >= 1.14.
OPSET = 17
IR_VERSION = 8
#: The largest absolute probability difference an export may have from its native model.
TOLERANCE = 1e-4


class GraphBuilder:
    """Collects nodes and weights under unique names as protobuf bytes (:mod:`ser_core.models.onnx_proto`).

    :meth:`serialized` gives the finished model's bytes (no ``onnx`` package needed),
    :meth:`model` a checked classifier ModelProto (training, where ``onnx`` is installed).
    """

    def __init__(self):
        self.nodes, self.initializers = [], []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def weight(self, stem: str, array, *, dtype=np.float32) -> str:
        name = self.name(stem)
        self.initializers.append(onnx_proto.tensor(name, np.array(array, dtype=dtype, order="C")))
        return name

    def op(self, op_type: str, inputs, *, outputs=1, stem=None, **attributes):
        """Add one node; return its output name (or the list of them when ``outputs`` > 1)."""
        names = [self.name(stem or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(onnx_proto.node(op_type, list(inputs), names, name=self.name(op_type), **attributes))
        return names[0] if outputs == 1 else names

    def serialized(self, *, graph_name: str, inputs, outputs, metadata=None) -> bytes:
        """The model's bytes; ``inputs`` and ``outputs`` are :func:`~ser_core.models.onnx_proto.value_info` messages."""
        return onnx_proto.model(nodes=self.nodes, initializers=self.initializers, inputs=inputs, outputs=outputs,
                                graph_name=graph_name, opset=OPSET, ir_version=IR_VERSION, metadata=metadata)

    def model(self, output: str, *, input_shape, n_classes: int, metadata: dict):
        """The classifier graph, ``output`` renamed ``probabilities``, as a ModelProto that ``onnx.checker`` passed."""
        import onnx

        self.nodes.append(onnx_proto.node("Identity", [output], [OUTPUT_NAME], name="output"))
        data = self.serialized(graph_name="ser_classifier",
                               inputs=[onnx_proto.value_info(INPUT_NAME, ["batch", *input_shape])],
                               outputs=[onnx_proto.value_info(OUTPUT_NAME, ["batch", int(n_classes)])],
                               metadata={key: json.dumps(value) for key, value in metadata.items()})
        model = onnx.load_model_from_string(data)
        onnx.checker.check_model(model)
        return model


def _metadata(*, family, classes, input_shape, layout, n_parameters):
    if layout not in LAYOUTS:
        raise ModelError(f"layout {layout!r} is not one of {LAYOUTS}")
    return {"family": family, "classes": [str(c) for c in classes], "input_shape": [int(d) for d in input_shape],
            "layout": layout, "n_parameters": int(n_parameters)}


def _normalise(builder, x, *, mean, scale):
    """``(x - mean) / scale`` in float32, as the native models compute it; skipped when both are None."""
    if mean is None and scale is None:
        return x
    if mean is not None:
        x = builder.op("Sub", [x, builder.weight("mean", mean)])
    if scale is not None:
        x = builder.op("Div", [x, builder.weight("scale", scale)])
    return x


# ---------------------------------------------------------------- log-mel CNN (torch)


def logmel_cnn_graph(state, *, classes, input_shape, mean, std, widths, batchnorm_epsilon=1e-5):
    """The log-mel CNN of :mod:`ser_core.models.logmel_cnn` as an ONNX ModelProto.

    Parameters
    ----------
    state : mapping of str to array
        The network's ``state_dict`` as arrays (``logmel_cnn.npz``).
    classes : sequence of str
        Output order.
    input_shape : (n_mels, n_frames)
        Features per clip.
    mean, std : float
        The training spectrograms' mean and standard deviation.
    widths : sequence of int
        Channels of the conv blocks (each: 2 x (conv, batch norm, ReLU), then 2x2 max-pool).
    """
    state = {name: np.asarray(value) for name, value in state.items()}
    builder = GraphBuilder()
    x = _normalise(builder, INPUT_NAME, mean=np.float32(mean), scale=np.float32(std))
    x = builder.op("Unsqueeze", [x, builder.weight("axes", [1], dtype=np.int64)])
    index = 0
    try:
        for _ in widths:
            for _ in range(2):
                conv, norm = f"{index}.", f"{index + 1}."
                x = builder.op("Conv", [x, builder.weight("conv_w", state[conv + "weight"])],
                               kernel_shape=[3, 3], pads=[1, 1, 1, 1])
                x = builder.op("BatchNormalization",
                               [x, *(builder.weight("bn", state[norm + key])
                                     for key in ("weight", "bias", "running_mean", "running_var"))],
                               epsilon=float(batchnorm_epsilon))
                x = builder.op("Relu", [x])
                index += 3
            x = builder.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
            index += 1
        x = builder.op("GlobalAveragePool", [x])
        x = builder.op("Flatten", [x], axis=1)
        linear = f"{index + 3}."  # after AdaptiveAvgPool2d, Flatten, Dropout
        x = builder.op("Gemm", [x, builder.weight("fc_w", state[linear + "weight"]),
                                builder.weight("fc_b", state[linear + "bias"])], transB=1)
    except KeyError as error:
        raise ModelError(f"the log-mel CNN's weights lack {error}; expected a state_dict of build_network()") from None
    x = builder.op("Softmax", [x], axis=1)
    n_parameters = sum(int(v.size) for k, v in state.items() if not k.endswith(("running_mean", "running_var",
                                                                                  "num_batches_tracked")))
    metadata = _metadata(family="logmel_cnn", classes=classes, input_shape=input_shape, layout="spectrograms",
                         n_parameters=n_parameters)
    return builder.model(x, input_shape=input_shape, n_classes=len(classes), metadata=metadata)


# ---------------------------------------------------------------- the study's Keras networks

#: Keras activations and the ONNX op (or LSTM activation name) of each.
_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "Softmax", "linear": None}
#: Keras LSTM gate blocks are (input, forget, cell, output); ONNX wants (input, output, forget, cell).
_KERAS_TO_ONNX_GATES = (0, 3, 1, 2)


def _activation(builder, x, name):
    if name not in _ACTIVATIONS:
        raise ModelError(f"activation {name!r} has no ONNX export; expected one of {', '.join(_ACTIVATIONS)}")
    op = _ACTIVATIONS[name]
    if op is None:
        return x
    return builder.op(op, [x], axis=-1) if op == "Softmax" else builder.op(op, [x])


def _gates(array, units):
    """Reorder the four gate blocks of the last axis from Keras' order to ONNX's."""
    blocks = [array[..., k * units:(k + 1) * units] for k in range(4)]
    return np.concatenate([blocks[k] for k in _KERAS_TO_ONNX_GATES], axis=-1)


def _same_pads(length, kernel, stride):
    """(before, after) padding and output length of Keras' ``padding="same"``."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return (total // 2, total - total // 2), out


class _KerasTranslator:
    """Walks a chain of Keras layers, tracking the tensor's layout: nwc (Keras), ncw (ONNX Conv), tnc (LSTM), nc."""

    def __init__(self, builder, x, *, steps):
        self.builder, self.x, self.layout, self.steps = builder, x, "nwc", steps

    def to(self, layout):
        perms = {("nwc", "ncw"): [0, 2, 1], ("nwc", "tnc"): [1, 0, 2], ("ncw", "tnc"): [2, 0, 1],
                 ("tnc", "ncw"): [1, 2, 0], ("ncw", "nwc"): [0, 2, 1], ("tnc", "nwc"): [1, 0, 2]}
        if self.layout != layout:
            if (self.layout, layout) not in perms:
                raise ModelError(f"cannot export a layer taking {layout} after one giving {self.layout}")
            self.x = self.builder.op("Transpose", [self.x], perm=perms[(self.layout, layout)])
            self.layout = layout

    def conv1d(self, config, weights):
        if config.get("groups", 1) != 1 or config.get("data_format", "channels_last") != "channels_last":
            raise ModelError(f"Conv1D {config['name']!r}: only groups=1 and channels_last can be exported")
        (kernel_size,), (stride,), (dilation,) = config["kernel_size"], config["strides"], config["dilation_rate"]
        if config["padding"] == "same":
            if stride != 1:
                raise ModelError(f"Conv1D {config['name']!r}: padding='same' is exported for stride 1 only")
            span = dilation * (kernel_size - 1)
            pads, out = (span // 2, span - span // 2), self.steps
        elif config["padding"] == "valid":
            pads, out = (0, 0), (self.steps - dilation * (kernel_size - 1) - 1) // stride + 1
        else:
            raise ModelError(f"Conv1D {config['name']!r}: padding {config['padding']!r} cannot be exported")
        self.to("ncw")
        inputs = [self.x, self.builder.weight("conv_w", np.transpose(weights[0], (2, 1, 0)))]
        if config.get("use_bias", True):
            inputs.append(self.builder.weight("conv_b", weights[1]))
        self.x = self.builder.op("Conv", inputs, kernel_shape=[kernel_size], strides=[stride], dilations=[dilation],
                                 pads=list(pads))
        self.x = _activation(self.builder, self.x, config["activation"])
        self.steps = out

    def batchnorm(self, config, weights):
        if config.get("axis", -1) not in (-1, 2, [-1], [2]):
            raise ModelError(f"BatchNormalization {config['name']!r}: only the channel axis (-1) can be exported")
        weights = list(weights)
        channels = weights[-1].shape[0]
        gamma = weights.pop(0) if config.get("scale", True) else np.ones(channels, np.float32)
        beta = weights.pop(0) if config.get("center", True) else np.zeros(channels, np.float32)
        moving_mean, moving_variance = weights
        self.to("ncw")
        self.x = self.builder.op("BatchNormalization",
                                 [self.x, *(self.builder.weight("bn", w) for w in (gamma, beta, moving_mean,
                                                                                   moving_variance))],
                                 epsilon=float(config["epsilon"]))

    def maxpool1d(self, config, weights):
        (pool,), (stride,) = config["pool_size"], config["strides"] or config["pool_size"]
        if config["padding"] == "same":
            pads, out = _same_pads(self.steps, pool, stride)
        else:
            pads, out = (0, 0), (self.steps - pool) // stride + 1
        self.to("ncw")
        self.x = self.builder.op("MaxPool", [self.x], kernel_shape=[pool], strides=[stride], pads=list(pads))
        self.steps = out

    def global_average(self, config, weights):
        self.to("ncw")
        self.x = self.builder.op("Flatten", [self.builder.op("GlobalAveragePool", [self.x])], axis=1)
        self.layout = "nc"

    def lstm(self, config, weights):
        unsupported = [key for key in ("go_backwards", "stateful", "unroll") if config.get(key)]
        if unsupported or config.get("return_state"):
            raise ModelError(f"LSTM {config['name']!r}: {', '.join(unsupported) or 'return_state'} cannot be exported")
        activations = [_ACTIVATIONS.get(config[key]) for key in ("recurrent_activation", "activation", "activation")]
        if not all(name in ("Sigmoid", "Tanh", "Relu") for name in activations):
            raise ModelError(f"LSTM {config['name']!r}: activations {config['activation']!r}/"
                             f"{config['recurrent_activation']!r} cannot be exported")
        units = int(config["units"])
        kernel, recurrent = weights[0], weights[1]
        bias = weights[2] if config.get("use_bias", True) else np.zeros(4 * units, np.float32)
        W = _gates(kernel, units).T[None]
        R = _gates(recurrent, units).T[None]
        B = np.concatenate([_gates(bias, units), np.zeros(4 * units, np.float32)])[None]
        self.to("tnc")
        y, y_h = self.builder.op("LSTM", [self.x, self.builder.weight("lstm_w", W), self.builder.weight("lstm_r", R),
                                          self.builder.weight("lstm_b", B)],
                                 outputs=2, hidden_size=units, activations=activations)
        if config.get("return_sequences"):
            self.x = self.builder.op("Squeeze", [y, self.builder.weight("axes", [1], dtype=np.int64)])
            self.layout = "tnc"
        else:
            self.x = self.builder.op("Squeeze", [y_h, self.builder.weight("axes", [0], dtype=np.int64)])
            self.layout = "nc"

    def dense(self, config, weights):
        if self.layout != "nc":
            raise ModelError(f"Dense {config['name']!r} on a sequence cannot be exported; expected a flat input")
        x = self.builder.op("MatMul", [self.x, self.builder.weight("dense_w", weights[0])])
        if config.get("use_bias", True):
            x = self.builder.op("Add", [x, self.builder.weight("dense_b", weights[1])])
        self.x = _activation(self.builder, x, config["activation"])

    def dropout(self, config, weights):
        """Inference-mode dropout is the identity."""


_LAYERS = {"Conv1D": "conv1d", "BatchNormalization": "batchnorm", "MaxPooling1D": "maxpool1d",
           "GlobalAveragePooling1D": "global_average", "LSTM": "lstm", "Dense": "dense", "Dropout": "dropout",
           "InputLayer": "dropout"}


def keras_graph(layers, *, classes, input_shape, mean=None, scale=None, family="keras"):
    """A chain of Keras layers as an ONNX ModelProto.

    Parameters
    ----------
    layers : sequence of (class name, config dict, list of weight arrays)
        The network's layers in order (``type(layer).__name__``, ``layer.get_config()``,
        ``layer.get_weights()``); each takes the previous one's output.
    classes : sequence of str
        Output order.
    input_shape : (steps, channels)
        Features per clip, channels last as Keras takes them.
    mean, scale : array or None
        The training standardisation (``KerasClassifier.mean_``/``scale_``), if any.
    """
    steps, _ = (int(d) for d in input_shape)
    builder = GraphBuilder()
    x = _normalise(builder, INPUT_NAME, mean=mean, scale=scale)
    translator = _KerasTranslator(builder, x, steps=steps)
    n_parameters = 0
    for class_name, config, weights in layers:
        if class_name not in _LAYERS:
            raise ModelError(f"Keras layer {config.get('name')!r} ({class_name}) has no ONNX export; "
                             f"expected one of {', '.join(sorted(_LAYERS))}")
        weights = [np.asarray(w, dtype=np.float32) for w in weights]
        n_parameters += sum(int(w.size) for w in weights)  # as Keras' count_params, moving statistics included
        getattr(translator, _LAYERS[class_name])(config, weights)
    if translator.layout != "nc":
        raise ModelError(f"the network ends on a {translator.layout} tensor; expected (batch, classes)")
    metadata = _metadata(family=family, classes=classes, input_shape=input_shape, layout="sequences",
                         n_parameters=n_parameters)
    return builder.model(translator.x, input_shape=input_shape, n_classes=len(classes), metadata=metadata)


def _keras_layers(model):
    """``(class name, config, weights)`` of a functional model that is one chain of layers."""
    layers = list(model.layers)
    for previous, layer in zip(layers, layers[1:]):
        parents = {id(tensor._keras_history.operation) for node in layer._inbound_nodes
                   for tensor in node.input_tensors}
        if parents != {id(previous)}:
            raise ModelError(f"Keras layer {layer.name!r} does not follow {previous.name!r}; "
                             "only a chain of layers can be exported")
    return [(type(layer).__name__, layer.get_config(), layer.get_weights()) for layer in layers]


# ---------------------------------------------------------------- scikit-learn MLP


def mlp_graph(*, classes, mean, scale, coefs, intercepts, activation, out_activation):
    """A ``StandardScaler -> MLPClassifier`` pipeline as an ONNX ModelProto.

    ``mean``/``scale`` are the scaler's (None when it does not centre or scale),
    ``coefs``/``intercepts`` the MLP's layers, ``activation`` its hidden activation
    (relu, tanh, logistic, identity) and ``out_activation`` softmax or logistic (two classes).
    """
    hidden = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}
    if activation not in hidden:
        raise ModelError(f"MLP activation {activation!r} has no ONNX export; expected one of {', '.join(hidden)}")
    n_features = int(np.asarray(coefs[0]).shape[0])
    builder = GraphBuilder()
    x = _normalise(builder, INPUT_NAME, mean=None if mean is None else np.asarray(mean, np.float32),
                   scale=None if scale is None else np.asarray(scale, np.float32))
    for layer, (weight, bias) in enumerate(zip(coefs, intercepts)):
        x = builder.op("Add", [builder.op("MatMul", [x, builder.weight("mlp_w", weight)]), builder.weight("mlp_b", bias)])
        if layer < len(coefs) - 1:
            x = _activation(builder, x, hidden[activation])
    if out_activation == "softmax":
        x = builder.op("Softmax", [x], axis=-1)
    elif out_activation == "logistic":
        positive = builder.op("Sigmoid", [x])
        x = builder.op("Concat", [builder.op("Sub", [builder.weight("one", [1.0]), positive]), positive], axis=1)
    else:
        raise ModelError(f"MLP output {out_activation!r} has no ONNX export; expected softmax or logistic")
    metadata = _metadata(family="mlp", classes=classes, input_shape=[n_features], layout="matrix",
                         n_parameters=sum(np.asarray(w).size for w in (*coefs, *intercepts)))
    return builder.model(x, input_shape=[n_features], n_classes=len(classes), metadata=metadata)


# ---------------------------------------------------------------- by estimator


def exportable(estimator) -> bool:
    """True when :func:`export_estimator` has a graph for this fitted estimator's family."""
    name = type(estimator).__name__
    if name == "ClassicalClassifier":
        return getattr(estimator, "kind", None) == "mlp"
    return name in ("LogMelCNN", "KerasClassifier")


def export_estimator(estimator):
    """The ONNX ModelProto of a fitted log-mel CNN, Keras study network or scikit-learn MLP.

    Raises ModelError for another family or an unfitted estimator.
    """
    if hasattr(estimator, "_check_fitted"):
        estimator._check_fitted()
    name = type(estimator).__name__
    classes = [str(c) for c in estimator.classes_]
    if name == "LogMelCNN":
        state = {key: value.detach().cpu().numpy() for key, value in estimator.network_.state_dict().items()}
        epsilon = next((float(m.eps) for m in estimator.network_.modules() if hasattr(m, "running_var")), 1e-5)
        return logmel_cnn_graph(state, classes=classes, input_shape=estimator.input_shape_, mean=estimator.mean_,
                                std=estimator.std_, widths=tuple(estimator.widths), batchnorm_epsilon=epsilon)
    if name == "KerasClassifier":
        return keras_graph(_keras_layers(estimator.model_), classes=classes, input_shape=estimator.input_shape_,
                           mean=estimator.mean_, scale=estimator.scale_, family=estimator.architecture)
    if name == "ClassicalClassifier" and getattr(estimator, "kind", None) == "mlp":
        scaler, mlp = _mlp_parts(estimator)
        return mlp_graph(classes=classes, mean=getattr(scaler, "mean_", None), scale=getattr(scaler, "scale_", None),
                         coefs=mlp.coefs_, intercepts=mlp.intercepts_, activation=mlp.activation,
                         out_activation=mlp.out_activation_)
    raise ModelError(f"{name} has no ONNX export; expected a LogMelCNN, a KerasClassifier or an MLP")


def _mlp_parts(estimator):
    """The fitted scaler and MLPClassifier of a classical ``mlp`` estimator."""
    pipeline = getattr(estimator, "pipeline_", None)
    steps = getattr(pipeline, "named_steps", None)
    if not steps or "classify" not in steps:
        raise ModelError("this MLP holds no fitted StandardScaler -> MLPClassifier pipeline to export")
    return steps.get("scale"), steps["classify"]


def graph_bytes(graph) -> bytes:
    """The serialised graph, as written to ``model.onnx``."""
    return graph.SerializeToString()


def max_probability_difference(estimator, graph, X) -> float:
    """The largest absolute difference between the native model's and the graph's probabilities on ``X``."""

    X = np.asarray(X)
    if len(X) == 0:
        raise InputError("checking an export needs at least one clip of features; received 0")
    native = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    exported = OnnxClassifier.from_bytes(graph_bytes(graph)).predict_proba(X).astype(np.float64)
    if native.shape != exported.shape:
        raise ModelError(f"the export gives probabilities of shape {exported.shape}; the native model {native.shape}")
    return float(np.max(np.abs(native - exported)))
