"""Read a .tflite into TensorFlow's mutable flatbuffer objects and write it back.

The storage forms rewrite weight tensors of a converted file in place (type, packing,
scales); TensorFlow ships the generated object API for that (``schema_py_generated``),
so edgekit does not carry a second writer. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np


def read_model(flatbuffer: bytes) -> Any:
    """The file as a mutable ``ModelT`` (buffers are numpy uint8 arrays)."""
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))


def write_model(model: Any) -> bytes:
    from tensorflow.lite.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def tensor_types() -> Any:
    from tensorflow.lite.python import schema_py_generated as schema

    return schema.TensorType


def opcode_names(model: Any) -> list[str]:
    """``BUILTIN_NAME`` of each operator code of ``model`` (custom ops by their custom code)."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        out.append(code.customCode.decode() if code.customCode else names.get(builtin, str(builtin)))
    return out


def kernel_uses(model: Any) -> Iterator[tuple[Any, Any, str, int]]:
    """(subgraph, operator, opcode name, weight tensor index) of every op reading a constant kernel
    in input slot 1 (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ...), in execution order."""
    names = opcode_names(model)
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            inputs = list(op.inputs) if op.inputs is not None else []
            if len(inputs) >= 2 and inputs[1] >= 0:
                yield subgraph, op, names[op.opcodeIndex], int(inputs[1])


def buffer_array(model: Any, tensor: Any, dtype: Any) -> np.ndarray | None:
    """The constant data of ``tensor`` as ``dtype`` in its shape, or None for a non-constant."""
    data = model.buffers[tensor.buffer].data
    if data is None or len(data) == 0:
        return None
    return np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=dtype).reshape(tuple(tensor.shape))


def set_buffer(model: Any, tensor: Any, raw: bytes) -> None:
    model.buffers[tensor.buffer].data = np.frombuffer(raw, dtype=np.uint8).copy()
