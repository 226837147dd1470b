"""TFLite Micro look-up-table storage: each kernel as 1-7-bit indices into per-channel value tables.

A clustered kernel has at most 16 distinct values per channel (4-bit indices), a ternary
one 3 (2-bit). TFLM's compressor (``tflite_micro.compression``) writes the tables and
inserts DECODE ops; the interpreter decodes each kernel into the arena before its op
runs, so the arena grows by the largest decoded kernel. Tables are per channel on the
kernel's quantized axis whenever its scales are per channel: one table per tensor on
per-channel-scaled weights runs silently wrong under TFLM.
"""

from __future__ import annotations

import numpy as np

from edgekit.errors import StorageError, first_line

MAX_BITS = 7
KERNEL_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "BATCH_MATMUL"})


def plan(flatbuffer: bytes) -> list[dict]:
    """One record per int8 kernel LUT storage makes smaller: tensor index, axis (None = one table), bits."""
    from edgekit.inspect import read_tflite

    graph = read_tflite(flatbuffer).main
    records, seen = [], set()
    for op in graph.operators:
        if op.opcode not in KERNEL_OPS or len(op.inputs) < 2 or op.inputs[1] in seen:
            continue
        tensor = graph.tensors[op.inputs[1]]
        if tensor.dtype != "int8" or tensor.data is None or tensor.sparsity is not None:
            continue
        seen.add(tensor.index)
        per_channel = tensor.quantization is not None and tensor.quantization.per_channel
        axis = tensor.quantization.quantized_dimension if per_channel else None
        values = np.moveaxis(tensor.data, axis, 0).reshape(tensor.shape[axis], -1) if per_channel \
            else tensor.data.reshape(1, -1)
        distinct = max(len(np.unique(row)) for row in values)
        bits = max(1, int(np.ceil(np.log2(distinct))))
        packed = (tensor.data.size * bits + 7) // 8 + len(values) * (1 << bits)
        if bits <= MAX_BITS and packed < tensor.data.size:
            records.append({"tensor": tensor.name, "index": tensor.index, "axis": axis, "bits": bits,
                            "values_per_channel": distinct, "bytes": packed, "int8_bytes": int(tensor.data.size)})
    return records


def compress(flatbuffer: bytes, records: list[dict], where: str) -> bytes:
    from tflite_micro import compression
    from tflite_micro.tensorflow.lite.micro.compression import spec

    builder = compression.SpecBuilder()
    for record in records:
        mode = spec.PerTensor() if record["axis"] is None else spec.PerChannel(axis=record["axis"])
        builder.add_tensor(0, record["index"]).with_lut(record["bits"], mode)
    try:
        return bytes(compression.compress(flatbuffer, builder.build()))
    except Exception as exc:  # the compressor's CompressionError and its wrapped causes
        raise StorageError(f"{where}: TFLite Micro's compressor failed: {first_line(exc)}") from None


def make(job) -> tuple[bytes, list[dict]]:
    from importlib.util import find_spec

    from edgekit.errors import MissingExtraError

    if find_spec("tflite_micro") is None:
        raise MissingExtraError(f"{job.where}: --storage lut needs TFLite Micro's compressor and interpreter, which "
                                "this install lacks (no module tflite_micro): pip install 'edgekit[micro]'")
    records = plan(job.int8)
    if not records:
        raise StorageError(f"{job.where}: no int8 kernel has few enough distinct values per channel for LUT storage "
                           "(at most 128; 16 after clustering gives 4-bit indices); cluster it first")
    return compress(job.int8, records, job.where), [{k: v for k, v in r.items() if k != "index"} for r in records]
