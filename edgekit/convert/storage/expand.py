"""A compact file's int8 reference, re-made on the host: the same weights stored as plain int8.

int4 kernels are unpacked to int8 codes with their own scales, sparse-encoded kernels are
densified: the result computes what the compact file should compute, through the plain int8
kernels every runtime gets right. Running both on a device shows whether its runtime reads
the compact form correctly (``edgekit deploy``), without the file the compact one was made from.
"""

from __future__ import annotations

import numpy as np

from edgekit.convert.storage import tflite_edit
from edgekit.errors import StorageError


def unpack_int4(raw: bytes, count: int) -> np.ndarray:
    """Two signed 4-bit values per byte, the first in the low nibble (TFLite's packing)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    nibbles = np.stack([data & 0x0F, data >> 4], axis=1).reshape(-1)[:count].astype(np.int8)
    return np.where(nibbles > 7, nibbles - 16, nibbles).astype(np.int8)


def to_int8(flatbuffer: bytes, where: str) -> bytes:
    """``flatbuffer`` with every int4 or sparse-encoded constant stored as plain int8."""
    from edgekit.inspect import read_tflite

    parsed = read_tflite(flatbuffer)
    model = tflite_edit.read_model(flatbuffer)
    types = tflite_edit.tensor_types()
    changed = 0
    for graph, subgraph in zip(parsed.subgraphs, model.subgraphs):
        for tensor, edit in zip(graph.tensors, subgraph.tensors):
            if not tensor.is_constant or tensor.data is None:
                continue
            if tensor.dtype == "int4" or tensor.sparsity is not None:
                if tensor.dtype not in ("int4", "int8"):
                    raise StorageError(f"{where}: tensor '{tensor.name}' is sparse {tensor.dtype}; only int8 and int4 "
                                       "kernels can be re-made as int8; pass --reference with the int8 file")
                tflite_edit.set_buffer(model, edit, np.ascontiguousarray(tensor.data, dtype=np.int8).tobytes())
                edit.type, edit.sparsity = types.INT8, None
                edit.shape = list(tensor.shape)
                changed += 1
    if not changed:
        raise StorageError(f"{where}: no int4 or sparse kernel to re-make as int8")
    _drop_densify(model)
    return tflite_edit.write_model(model)


def _drop_densify(model) -> None:
    """Remove DENSIFY ops (they take only sparse tensors): their readers read the dense constant instead."""
    names = tflite_edit.opcode_names(model)
    for subgraph in model.subgraphs:
        dense = {int(op.outputs[0]): int(op.inputs[0]) for op in subgraph.operators
                 if names[op.opcodeIndex] == "DENSIFY" and subgraph.tensors[int(op.inputs[0])].sparsity is None}
        if not dense:
            continue
        subgraph.operators = [op for op in subgraph.operators
                              if not (names[op.opcodeIndex] == "DENSIFY" and int(op.outputs[0]) in dense)]
        for op in subgraph.operators:
            op.inputs = [dense.get(int(i), int(i)) for i in op.inputs]
