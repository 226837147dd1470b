"""int4 weight storage: int8 kernels whose values sit on a 16-level grid, stored as packed int4.

A kernel qualifies when every int8 code, rescaled to the int4 grid, lands within half an
int8 step of an int4 level: int4 storage then reproduces the int8 file's weights as
closely as int8 reproduced the float ones (models clustered with ``int4_grid``, or
ternary ones, fit exactly). Other kernels stay int8, so a file may mix both.

Scales follow what every targeted runtime runs correctly (LiteRT 2.3, tflite-runtime
2.14, TFLite Micro): per output channel (or one per tensor when that fits as well) for CONV_2D /
DEPTHWISE_CONV_2D, one scale per tensor for FULLY_CONNECTED (per-channel int4 FULLY_CONNECTED fails to load on
tflite-runtime 2.14 and TFLM). The bias shares the kernel's scale
(``bias_scale = input_scale * weight_scale``), so it is rescaled with it. Halving the kernels
leaves the graph's own bytes, so the file is then trimmed to what the runtimes read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.convert.storage import tflite_edit, trim
from edgekit.errors import StorageError

PER_CHANNEL_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D"})
PER_TENSOR_OPS = frozenset({"FULLY_CONNECTED"})
MAX_ERROR_STEPS = 0.5 + 1e-4   # a kernel fits when no code moves by more than int8's own rounding


@dataclass(frozen=True)
class KernelFit:
    """How one kernel maps to int4: codes, scales (per channel along axis 0, or one) and the error."""

    codes: np.ndarray      # int8 values in [-8, 7]
    scales: np.ndarray     # float32, shape (channels,) or (1,)
    max_error_steps: float  # worst |int4 value - int8 value| in int8 steps


def fit_int4(q: np.ndarray, scales: np.ndarray, per_channel: bool) -> KernelFit:
    """The int4 codes and scales closest to int8 codes ``q`` with int8 ``scales`` (axis 0 = channel).

    Two grids are tried: symmetric (levels -7..7, the largest magnitude at 7) and one that
    also uses -8; the one with the smaller worst error wins.
    """
    int8_step = _broadcast(scales.astype(np.float64), q)
    real = q.astype(np.float64) * int8_step
    axes = tuple(range(1, q.ndim)) if per_channel else None
    high = np.max(real, axis=axes, keepdims=per_channel)
    low = -np.min(real, axis=axes, keepdims=per_channel)
    best = None
    for step in (np.maximum(high, low) / 7.0, np.maximum(high / 7.0, low / 8.0)):
        step = np.maximum(step, 1e-30)
        codes = np.clip(np.round(real / step), -8, 7)
        error = float((np.abs(codes * step - real) / int8_step).max())
        if best is None or error < best.max_error_steps:
            best = KernelFit(codes.astype(np.int8), np.asarray(step, np.float32).reshape(-1), error)
    return best


def best_fit(q: np.ndarray, scales: np.ndarray, per_channel: bool) -> KernelFit:
    """Per-channel ops try one grid per channel and one shared grid; a kernel clustered on one
    tensor-wide int4 grid fits only the latter, which needs no per-channel scale arrays."""
    shared = fit_int4(q, scales, per_channel=False)
    if not per_channel:
        return shared
    own = fit_int4(q, scales, per_channel=True)
    return own if own.max_error_steps < shared.max_error_steps else shared


def _broadcast(scales: np.ndarray, q: np.ndarray) -> np.ndarray:
    return scales.reshape((-1,) + (1,) * (q.ndim - 1)) if scales.size > 1 else scales.reshape(())


def pack_int4(codes: np.ndarray) -> bytes:
    """Two values per byte, the first in the low nibble (TFLite's packing)."""
    flat = codes.reshape(-1).astype(np.int16) & 0x0F
    if flat.size % 2:
        flat = np.append(flat, 0)
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()


def to_int4(flatbuffer: bytes, where: str) -> tuple[bytes, list[dict]]:
    """The file with every qualifying int8 kernel stored as int4 and the graph trimmed to what the
    runtimes read (:mod:`edgekit.convert.storage.trim`), and one record per kernel."""
    model = tflite_edit.read_model(flatbuffer)
    records = rewrite_kernels(model, where)
    trim.trim(model)
    return tflite_edit.write_model(model), records


def rewrite_kernels(model, where: str) -> list[dict]:
    """Every qualifying int8 kernel of ``model`` (a ``ModelT``) as int4, in place; one record per kernel."""
    types = tflite_edit.tensor_types()
    done: dict[int, dict] = {}
    records = []
    for subgraph, op, opcode, index in tflite_edit.kernel_uses(model):
        tensor = subgraph.tensors[index]
        if opcode not in PER_CHANNEL_OPS | PER_TENSOR_OPS or tensor.type != types.INT8 or (id(subgraph), index) in done:
            continue
        q = tflite_edit.buffer_array(model, tensor, np.int8)
        if q is None or tensor.quantization is None or tensor.quantization.scale is None:
            continue
        old_scales = np.asarray(tensor.quantization.scale, dtype=np.float32)
        axis = tensor.quantization.quantizedDimension if old_scales.size > 1 else 0
        if axis != 0:
            continue
        fit = best_fit(q, old_scales, per_channel=opcode in PER_CHANNEL_OPS)
        record = {"tensor": tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name, "op": opcode,
                  "scales": "per-channel" if fit.scales.size > 1 else "per-tensor",
                  "max_error_steps": round(fit.max_error_steps, 3), "int4": fit.max_error_steps <= MAX_ERROR_STEPS}
        done[(id(subgraph), index)] = record
        records.append(record)
        if not record["int4"]:
            continue
        tflite_edit.set_buffer(model, tensor, pack_int4(fit.codes))
        tensor.type = types.INT4
        tensor.quantization.scale = fit.scales.astype(np.float32)
        tensor.quantization.zeroPoint = np.zeros(fit.scales.size, dtype=np.int64)
        tensor.quantization.quantizedDimension = 0
        tensor.quantization.min = tensor.quantization.max = None
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            _rescale_bias(model, subgraph.tensors[op.inputs[2]], old_scales, fit.scales)
    if not any(r["int4"] for r in records):
        worst = min((r["max_error_steps"] for r in records), default=None)
        raise StorageError(f"{where}: no int8 kernel fits the int4 grid (best off by {worst} int8 steps); cluster "
                           "with 16 clusters and int4_grid = true (edgekit optimize --cluster 16 "
                           "--cluster-int4-grid) first")
    return records


def _rescale_bias(model, bias, old_scales: np.ndarray, new_scales: np.ndarray) -> None:
    """int32 bias codes for the new weight scale (its scale is input scale x weight scale)."""
    values = tflite_edit.buffer_array(model, bias, np.int32)
    if values is None or bias.quantization is None or bias.quantization.scale is None:
        return
    old_bias = np.broadcast_to(np.asarray(bias.quantization.scale, dtype=np.float64), values.shape)
    input_scale = old_bias[0] / float(old_scales.reshape(-1)[0])
    new_bias = input_scale * np.broadcast_to(new_scales.astype(np.float64), values.shape)
    codes = np.clip(np.round(values * old_bias / new_bias), -2**31, 2**31 - 1).astype(np.int32)
    tflite_edit.set_buffer(model, bias, codes.tobytes())
    scales = new_bias if new_scales.size > 1 else new_bias[:1]
    bias.quantization.scale = scales.astype(np.float32)
    bias.quantization.zeroPoint = np.zeros(scales.size, dtype=np.int64)


def make(job) -> tuple[bytes, list[dict]]:
    """The storage registry's entry point (:class:`edgekit.convert.storage.StorageJob`)."""
    return to_int4(job.int8, job.where)
