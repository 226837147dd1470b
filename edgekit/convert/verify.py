"""Proving a converted model is full-integer: no op may compute in float.

The converter keeps an op in float, silently, when it has no integer kernel (e.g. SIN),
even when only int8 builtins are allowed; so edgekit checks the result itself.
"""

from __future__ import annotations

from typing import Sequence

# Tensor types an op of a full-integer model may read or write: int8 (int16 for 16x8)
# activations and weights, int32/int64 biases, shapes and indices, booleans.
_INTEGER_TYPES = {
    "int8": {"int8", "int32", "int64", "bool"},
    "int16x8": {"int16", "int8", "int32", "int64", "bool"},
}
_IO_OPS = {"QUANTIZE", "DEQUANTIZE"}


def non_integer_ops(tflite: bytes, mode: str, keep_float: Sequence[str] = ()) -> list[str]:
    """Names of the ops (``SIN``, ...) that read or write a non-integer tensor, sorted.

    The QUANTIZE/DEQUANTIZE pairs the converter wraps around such an op are not named
    (they are a symptom). Exempt: ops named in ``keep_float``, and QUANTIZE/DEQUANTIZE ops
    that convert the model's own inputs or outputs (float32 or uint8 I/O) or the data of
    a kept op.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    dtypes = {t["index"]: t["dtype"].__name__ for t in interpreter.get_tensor_details()}
    ops = [(op["op_name"], [i for i in [*op["inputs"], *op["outputs"]] if i >= 0])
           for op in interpreter._get_ops_details()]  # noqa: SLF001 (the public API has no per-op view)
    # Float is expected where data enters or leaves the model and around kept-float ops.
    float_edges = {d["index"] for d in interpreter.get_input_details() + interpreter.get_output_details()}
    float_edges.update(i for name, tensors in ops if name in keep_float for i in tensors)
    allowed = _INTEGER_TYPES[mode]
    bad = set()
    for name, tensors in ops:
        if name in keep_float or (name in _IO_OPS and float_edges.intersection(tensors)):
            continue
        if any(dtypes[i] not in allowed for i in tensors):
            bad.add(name)
    return sorted(bad - _IO_OPS) or sorted(bad)
