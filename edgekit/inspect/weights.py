"""Statistics of constant (weight) tensors: zeros, unique values, per-channel uniques, N:M groups.

These are how pruning and clustering show in a finished ``.tflite``: pruning as zeros
(and, structured, as at most N non-zeros in every group of M input channels), clustering
as few unique values per output channel. "Zero" means the value that dequantizes to 0.0,
i.e. the zero point of a quantized tensor.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from edgekit.inspect.model import Operator, Tensor

DEFAULT_NM: tuple[tuple[int, int], ...] = ((2, 4),)


@dataclass(frozen=True)
class NMStats:
    """Groups of ``m`` consecutive input channels (last axis) and how many have <= ``n`` non-zeros."""

    n: int
    m: int
    groups: int
    groups_ok: int  # groups with at most n non-zeros
    max_nonzeros: int  # the most non-zeros found in one group

    @property
    def fraction_ok(self) -> float:
        return self.groups_ok / self.groups if self.groups else 1.0

    @property
    def pattern(self) -> str:
        return f"{self.n}:{self.m}"

    def __add__(self, other: "NMStats") -> "NMStats":
        return NMStats(self.n, self.m, self.groups + other.groups, self.groups_ok + other.groups_ok,
                       max(self.max_nonzeros, other.max_nonzeros))

    def to_dict(self) -> dict:
        return {"pattern": self.pattern, "groups": self.groups, "groups_ok": self.groups_ok,
                "fraction_ok": self.fraction_ok, "max_nonzeros": self.max_nonzeros}


@dataclass
class WeightStats:
    """What ``edgekit inspect`` reports for one constant tensor."""

    name: str
    subgraph: int
    tensor: int  # index in its subgraph
    buffer: int
    dtype: str
    shape: tuple[int, ...]
    nbytes: int  # bytes in the file (sparse-encoded tensors: the encoded size)
    elements: int
    used_by: list[str]  # "CONV_2D:1" = input 1 of a CONV_2D
    sparse_encoded: bool = False
    is_kernel: bool = False  # >= 2 dims: counted in the model's weight sparsity and N:M totals
    zeros: int | None = None
    unique_values: int | None = None
    channel_axis: int | None = None  # output-channel axis of the per-channel uniques (kernels only)
    unique_per_channel_max: int | None = None
    unique_per_channel_mean: float | None = None
    nm: list[NMStats] = field(default_factory=list)  # empty when not a kernel with input channels
    note: str | None = None
    entropy_bits: float | None = None  # Shannon entropy of the values, bits per weight: what an ideal
                                       # coder of this tensor alone would need (gzip approaches it)

    @property
    def stored_bits(self) -> float | None:
        """Bits per weight as stored in the file (int8: 8, int4: 4, sparse: encoded size)."""
        return self.nbytes * 8 / self.elements if self.elements else None

    @property
    def zero_fraction(self) -> float | None:
        return None if self.zeros is None or not self.elements else self.zeros / self.elements

    def to_dict(self) -> dict:
        out = asdict(self)
        out["shape"] = list(self.shape)
        out["zero_fraction"] = self.zero_fraction
        out["nm"] = [s.to_dict() for s in self.nm]
        out["stored_bits"] = self.stored_bits
        return out


def weight_stats(
    subgraph: int, tensor: Tensor, readers: list[tuple[Operator, int]],
    patterns: tuple[tuple[int, int], ...] = DEFAULT_NM,
) -> WeightStats:
    """Statistics of one constant tensor; ``readers`` are the (operator, input slot) that use it."""
    stats = WeightStats(
        name=tensor.name, subgraph=subgraph, tensor=tensor.index, buffer=tensor.buffer, dtype=tensor.dtype,
        shape=tensor.shape, nbytes=tensor.nbytes, elements=math.prod(tensor.shape),
        used_by=[f"{op.opcode}:{slot}" for op, slot in readers], sparse_encoded=tensor.sparsity is not None,
        is_kernel=len(tensor.shape) >= 2, note=tensor.note,
    )
    values = tensor.data
    if values is None or values.dtype.kind not in "biuf":
        return stats
    nonzero = ~zero_mask(tensor)
    stats.zeros = int(nonzero.size - np.count_nonzero(nonzero))
    stats.unique_values = int(np.unique(values).size) if values.size else 0
    stats.entropy_bits = entropy_bits(values)
    if stats.is_kernel and values.size:
        stats.channel_axis = output_channel_axis(tensor, readers)
        per_channel = unique_per_channel(values, stats.channel_axis)
        stats.unique_per_channel_max = int(per_channel.max())
        stats.unique_per_channel_mean = float(per_channel.mean())
    if stats.is_kernel and values.size and not _is_depthwise_filter(readers):
        stats.nm = [nm_stats(nonzero, n, m) for n, m in patterns]
    return stats


def entropy_bits(values: np.ndarray) -> float | None:
    """Shannon entropy of the value counts, in bits per element."""
    if not values.size:
        return None
    _, counts = np.unique(values, return_counts=True)
    p = counts / values.size
    return float(-(p * np.log2(p)).sum()) + 0.0


def zero_mask(tensor: Tensor) -> np.ndarray:
    """True where the constant's real value is 0 (== its zero point when quantized)."""
    values = tensor.data
    quant = tensor.quantization
    if quant is None or values.dtype.kind == "f" or not quant.zero_points.any():
        return values == 0
    zero_points = quant.zero_points
    axis = quant.quantized_dimension
    if len(zero_points) > 1 and 0 <= axis < values.ndim and values.shape[axis] == len(zero_points):
        shape = [1] * values.ndim
        shape[axis] = len(zero_points)
        return values == zero_points.reshape(shape)
    return values == zero_points[0]


def output_channel_axis(tensor: Tensor, readers: list[tuple[Operator, int]]) -> int:
    """The quantized dimension when per-channel, 3 for depthwise filters (1,H,W,C), else 0."""
    quant = tensor.quantization
    if quant is not None and quant.per_channel and 0 <= quant.quantized_dimension < len(tensor.shape):
        return quant.quantized_dimension
    if _is_depthwise_filter(readers) and len(tensor.shape) == 4:
        return 3
    return 0


def unique_per_channel(values: np.ndarray, axis: int) -> np.ndarray:
    """Number of distinct values in each slice along ``axis`` (vectorised: sort, count steps)."""
    rows = np.moveaxis(values, axis, 0).reshape(values.shape[axis], -1)
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0], dtype=np.int64)
    ordered = np.sort(rows, axis=1)
    return 1 + np.count_nonzero(ordered[:, 1:] != ordered[:, :-1], axis=1)


def nm_stats(nonzero: np.ndarray, n: int, m: int) -> NMStats:
    """N:M statistics of a non-zero mask, groups of ``m`` along the last (input-channel) axis.

    A last axis that is not a multiple of ``m`` is padded with zeros, as sparse kernels do.
    """
    rows = nonzero.reshape(-1, nonzero.shape[-1])
    pad = (-rows.shape[1]) % m
    if pad:
        rows = np.pad(rows, ((0, 0), (0, pad)))
    counts = rows.reshape(-1, m).sum(axis=1)
    return NMStats(n, m, int(counts.size), int(np.count_nonzero(counts <= n)), int(counts.max(initial=0)))


def _is_depthwise_filter(readers: list[tuple[Operator, int]]) -> bool:
    return any(op.opcode == "DEPTHWISE_CONV_2D" and slot == 1 for op, slot in readers)
