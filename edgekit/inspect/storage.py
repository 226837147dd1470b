"""Which weight storage forms a .tflite uses, named as target profiles list them (``storage``).

A runtime may load a form and compute wrong with it, so a form that is correct under one
scale layout is a different capability under another: per-channel int4 FULLY_CONNECTED
fails on tflite-runtime 2.14 and TFLite Micro; per-channel sparse int8 and one LUT table
per tensor on per-channel-scaled weights run silently wrong. AI Edge Quantizer writes two more:
int4 weights that a DEQUANTIZE expands (weight-only int4; tflite-runtime 2.14's DEQUANTIZE
has no int4 kernel) and per-channel int8 weights of a FULLY_CONNECTED with float input
under an op version that does not declare them (dynamic; tflite-runtime 2.14 computes it
wrong, LiteRT right). Read from the flatbuffer
alone (numpy only), so deploy and build refuse before sending anything.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import StorageError
from edgekit.vocab import STORAGE_CAPABILITIES

LUT_DECODE_OP = "TFLM_DECODE"
LUT_PER_TENSOR_AXIS = 0xF
DEQUANTIZING_OPS = {"DENSIFY", "DEQUANTIZE"}
# FULLY_CONNECTED's op version for per-channel weights with float input (TensorFlow's converter
# writes it; a runtime without it refuses to load). AEQ writes such ops as version 1, which
# older runtimes run with one scale: silently wrong.
FC_PER_CHANNEL_HYBRID = 12


def lut_info(ancillary) -> dict | None:
    """Bits, axis (None = one table) and table stride of a TFLM LUT ancillary tensor (its DCM header)."""
    data = None if ancillary.data is None else ancillary.data.reshape(-1).view("uint8")
    if data is None or len(data) < 16 or data[0] != 0:   # decode type 0 = LUT
        return None
    axis = int(data[5]) >> 4
    return {"bits": int(data[5]) & 0x07, "axis": None if axis == LUT_PER_TENSOR_AXIS else axis,
            "values_per_table": int(data[6]), "table_bytes": len(data) - 16}


def lut_tensors(model) -> list[dict]:
    """Every TFLM LUT-decoded kernel: its name, index bits, table axis, values per table and bytes."""
    out = []
    for graph in model.subgraphs:
        for op in graph.operators:
            if op.opcode != LUT_DECODE_OP:
                continue
            for encoded, ancillary, decoded in zip(op.inputs[0::2], op.inputs[1::2], op.outputs):
                info = lut_info(graph.tensors[ancillary])
                if info is None:
                    continue
                out_tensor = graph.tensors[decoded]
                elements = int(np.prod(out_tensor.shape))
                stored = graph.tensors[encoded].nbytes + graph.tensors[ancillary].nbytes
                out.append({"tensor": out_tensor.name, **info, "elements": elements, "stored_bytes": stored,
                            "stored_bits": round(stored * 8 / elements, 3) if elements else None})
    return out


def storage_forms(model) -> dict[str, list[str]]:
    """{capability: [tensor names]} for every stored weight form of the model's kernels."""
    found: dict[str, list[str]] = {}
    for graph in model.subgraphs:
        consumers = graph.consumers()
        for op in graph.operators:
            if op.opcode == LUT_DECODE_OP:
                for encoded, ancillary, decoded in zip(op.inputs[0::2], op.inputs[1::2], op.outputs):
                    info = lut_info(graph.tensors[ancillary])
                    out = graph.tensors[decoded]
                    per_channel = out.quantization is not None and out.quantization.per_channel
                    wrong = info is not None and info["axis"] is None and per_channel
                    found.setdefault("lut-per-tensor-on-per-channel" if wrong else "lut", []).append(out.name)
        for tensor in graph.tensors:
            if not tensor.is_constant or len(tensor.shape) < 2:
                continue
            per_channel = tensor.quantization is not None and tensor.quantization.per_channel
            users = {op.opcode for op, _ in consumers.get(tensor.index, [])}
            if tensor.sparsity is not None:
                found.setdefault("sparse-per-channel" if per_channel else "sparse", []).append(tensor.name)
            elif tensor.dtype == "int4":
                fc = per_channel and "FULLY_CONNECTED" in users
                form = "int4-dequantize" if users and users <= DEQUANTIZING_OPS else "int4"
                found.setdefault("int4-fc-per-channel" if fc else form, []).append(tensor.name)
            elif tensor.dtype in ("int8", "uint8") and not users & DEQUANTIZING_OPS:
                hybrid = per_channel and any(op.opcode == "FULLY_CONNECTED" and op.version < FC_PER_CHANNEL_HYBRID
                                             and graph.tensors[op.inputs[0]].dtype == "float32"
                                             for op, _ in consumers.get(tensor.index, []))
                found.setdefault("int8-fc-per-channel-hybrid" if hybrid else "int8", []).append(tensor.name)
    return {form: found[form] for form in STORAGE_CAPABILITIES if form in found}


def check_storage(model, allowed: tuple[str, ...], where: str, runtime: str) -> None:
    """StorageError naming the first tensor stored in a form ``runtime`` does not run correctly."""
    for form, tensors in storage_forms(model).items():
        if form not in allowed:
            raise StorageError(f"{where}: tensor '{tensors[0]}' is stored as {form}, which {runtime} does not run "
                               f"correctly (it runs: {', '.join(allowed)}); re-make it with edgekit convert/export "
                               "--storage for this target")
