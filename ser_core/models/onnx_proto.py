"""ONNX models written as protobuf bytes, without the ``onnx`` package.

onnxruntime takes a model as its serialised bytes, and the graphs ser_core builds
(:mod:`ser_core.models.onnx_export`, the Whisper encoder of :mod:`ser_core.features.whisper`)
use a handful of ``onnx.proto``'s fields: tensors with raw data, nodes with numeric and
string attributes, dense-shaped float inputs and outputs, metadata. Writing those in
protobuf's wire format here lets a server build a graph with onnxruntime alone; the bytes
are those of ``onnx.helper`` and ``numpy_helper.from_array`` for the same graph
(``SerializeToString``: fields in number order, repeated numbers unpacked as proto2 has them).

Each function returns one message's bytes; :func:`model` nests them, so that a large
tensor is copied once more at most.

Examples
--------
>>> add = node("Add", ["x", "one"], ["y"], name="add")
>>> data = model(nodes=[add], initializers=[tensor("one", np.ones(3, np.float32))], graph_name="g",
...              inputs=[value_info("x", [3])], outputs=[value_info("y", [3])], opset=17, ir_version=8)
>>> data[:2]  # ir_version = 8
b'\\x08\\x08'
"""

from __future__ import annotations

import struct

import numpy as np

from ser_core.errors import ModelError

#: ``TensorProto.DataType`` of each NumPy dtype a graph holds (weights, and shapes or indices).
DATA_TYPES = {np.dtype(np.float32): 1, np.dtype(np.int64): 7}
FLOAT = DATA_TYPES[np.dtype(np.float32)]
#: ``AttributeProto.AttributeType``: a single value and a list of each kind.
_FLOAT, _INT, _STRING, _FLOATS, _INTS, _STRINGS = 1, 2, 3, 6, 7, 8
_VARINT, _FIXED32, _LENGTH = 0, 5, 2


def _varint(value: int) -> bytes:
    """A base-128 varint; negative numbers as their 64-bit two's complement (ten bytes)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _int(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(int(value))


def _float(field: int, value: float) -> bytes:
    return _key(field, _FIXED32) + struct.pack("<f", value)


def _text(field: int, value) -> bytes:
    return _message(field, value.encode() if isinstance(value, str) else bytes(value))


def _message(field: int, *parts: bytes) -> bytes:
    """A length-delimited field holding ``parts`` joined (a submessage, a string or raw bytes)."""
    return b"".join(_nested(field, parts))


def _nested(field: int, parts) -> list[bytes]:
    """:func:`_message`'s pieces unjoined, so that the model's one join copies a large tensor only once."""
    return [_key(field, _LENGTH) + _varint(sum(len(part) for part in parts)), *parts]


def tensor(name: str, array) -> bytes:
    """A ``TensorProto``: dims, data type, name and the C-order little-endian values as raw data."""
    array = np.asarray(array)
    dtype = np.dtype(array.dtype.type)  # native byte order
    if dtype not in DATA_TYPES:
        raise ModelError(f"tensor {name!r} is {array.dtype}; expected one of {', '.join(map(str, DATA_TYPES))}")
    data = np.ascontiguousarray(array, dtype=dtype.newbyteorder("<")).tobytes()
    dims = [_int(1, dim) for dim in array.shape]
    return b"".join((*dims, _int(2, DATA_TYPES[dtype]), _text(8, name), *_nested(9, [data])))


def attribute(name: str, value) -> bytes:
    """An ``AttributeProto`` whose type follows the value, as ``onnx.helper.make_attribute`` infers it."""
    if isinstance(value, (bool, int, np.integer)):
        body, kind = _int(3, value), _INT
    elif isinstance(value, (float, np.floating)):
        body, kind = _float(2, value), _FLOAT
    elif isinstance(value, (str, bytes)):
        body, kind = _text(4, value), _STRING
    else:
        values = list(value)
        if values and all(isinstance(v, (bool, int, np.integer)) for v in values):
            body, kind = b"".join(_int(8, v) for v in values), _INTS
        elif values and all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
            body, kind = b"".join(_float(7, v) for v in values), _FLOATS
        elif values and all(isinstance(v, (str, bytes)) for v in values):
            body, kind = b"".join(_text(9, v) for v in values), _STRINGS
        else:
            raise ModelError(f"attribute {name!r} is {value!r}; expected a number, a string or a list of one kind")
    return b"".join((_text(1, name), body, _int(20, kind)))


def node(op_type: str, inputs, outputs, *, name: str, **attributes) -> bytes:
    """A ``NodeProto`` of the default domain, its attributes in name order (as ``make_node`` writes them)."""
    parts = [*(_text(1, i) for i in inputs), *(_text(2, o) for o in outputs), _text(3, name), _text(4, op_type)]
    parts += [_message(5, attribute(key, value)) for key, value in sorted(attributes.items()) if value is not None]
    return b"".join(parts)


def value_info(name: str, shape, *, elem_type: int = FLOAT) -> bytes:
    """A tensor ``ValueInfoProto``; ``shape`` holds sizes (int) and named dynamic sizes (str)."""
    dims = [_message(1, _int(1, d) if isinstance(d, (int, np.integer)) else _text(2, d)) for d in shape]
    tensor_type = _int(1, elem_type) + _message(2, *dims)
    return _text(1, name) + _message(2, _message(1, tensor_type))


def model(*, nodes, initializers, inputs, outputs, graph_name: str, opset: int, ir_version: int,
          producer: str = "ser_core", metadata: dict[str, str] | None = None) -> bytes:
    """A ``ModelProto`` of one graph on the default domain's ``opset``, from the messages of the functions above."""
    graph = [_message(1, n) for n in nodes] + [_text(2, graph_name)]
    for initializer in initializers:
        graph += _nested(5, [initializer])
    graph += [_message(11, v) for v in inputs] + [_message(12, v) for v in outputs]
    props = [_message(14, _text(1, key), _text(2, value)) for key, value in (metadata or {}).items()]
    return b"".join((_int(1, ir_version), _text(2, producer), *_nested(7, graph),
                     _message(8, _text(1, ""), _int(2, opset)), *props))
