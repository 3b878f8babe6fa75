"""ser_core.models.onnx_proto: ONNX models as bytes without the onnx package, byte for byte as onnx.helper writes them."""

import sys

import numpy as np
import pytest

from ser_core.errors import ModelError
from ser_core.models import onnx_proto

#: One of every attribute kind the graphs use, zeros and negative numbers included (proto2 writes them).
ATTRIBUTES = [
    {"axis": -1},
    {"axis": 0, "epsilon": 1e-5},
    {"perm": [1, 2, 0, 3], "kernel_shape": [np.int64(3)]},
    {"activations": ["Sigmoid", "Tanh", "Tanh"], "direction": "forward", "hidden_size": 3},
    {"scales": [1.0, 2, 0.5]},
]
TENSORS = [np.float32(0.5), np.arange(6, dtype=np.float32).reshape(2, 3), np.array([-1, 512], dtype=np.int64),
           np.zeros((0, 4), np.float32), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))]


@pytest.mark.parametrize("attributes", ATTRIBUTES)
def test_a_node_is_written_as_onnx_helper_writes_it(attributes):
    helper = pytest.importorskip("onnx.helper")
    ours = onnx_proto.node("Op", ["x", "w"], ["y"], name="op_1", **attributes)
    assert ours == helper.make_node("Op", ["x", "w"], ["y"], name="op_1", **attributes).SerializeToString()


@pytest.mark.parametrize("array", TENSORS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_a_tensor_is_written_as_numpy_helper_writes_it(array):
    numpy_helper = pytest.importorskip("onnx.numpy_helper")
    expected = numpy_helper.from_array(np.array(array, order="C"), "w").SerializeToString()
    assert onnx_proto.tensor("w", array) == expected


def test_a_model_is_written_as_onnx_helper_writes_it():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weight = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    ours = onnx_proto.model(
        nodes=[onnx_proto.node("MatMul", ["x", "w"], ["y"], name="matmul")], graph_name="g",
        initializers=[onnx_proto.tensor("w", weight)],
        inputs=[onnx_proto.value_info("x", ["batch", 3])], outputs=[onnx_proto.value_info("y", ["batch", 2])],
        opset=17, ir_version=8, metadata={"classes": '["a", "b"]'})
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
                              initializer=[numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ser_core")
    model.ir_version = 8
    helper.set_model_props(model, {"classes": '["a", "b"]'})
    assert ours == model.SerializeToString()
    onnx.checker.check_model(onnx.load_model_from_string(ours))


def test_onnxruntime_runs_a_graph_written_without_the_onnx_package(monkeypatch):
    onnxruntime = pytest.importorskip("onnxruntime")
    from ser_core.models.onnx_export import GraphBuilder

    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError, as on the hosted install
    builder = GraphBuilder()
    scale = np.array([0.5, 2.0, -1.0], np.float32)
    y = builder.op("Softmax", [builder.op("Mul", ["x", builder.weight("scale", scale)])], axis=-1)
    builder.nodes.append(onnx_proto.node("Identity", [y], ["y"], name="output"))
    data = builder.serialized(graph_name="g", inputs=[onnx_proto.value_info("x", ["batch", 3])],
                              outputs=[onnx_proto.value_info("y", ["batch", 3])])
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    out = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    expected = np.exp(x * scale) / np.exp(x * scale).sum()
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda: onnx_proto.tensor("w", np.zeros(2, np.float16)), "tensor 'w' is float16"),
    (lambda: onnx_proto.attribute("pads", []), "attribute 'pads' is \\[\\]"),
    (lambda: onnx_proto.attribute("mixed", [1, "a"]), "a list of one kind"),
])
def test_what_cannot_be_written_is_refused(call, match):
    with pytest.raises(ModelError, match=match):
        call()
