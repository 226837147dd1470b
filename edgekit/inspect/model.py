"""The parsed TFLite model: plain dataclasses other modules can walk without TensorFlow.

Indices are the file's own: ``Operator.inputs``/``outputs`` and ``Subgraph.inputs``/
``outputs`` index ``Subgraph.tensors`` (-1 marks an omitted optional input), and
operators are listed in execution order, as the TFLite interpreter runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.inspect.schema import CUSTOM_OPCODE, FLOAT_DTYPES


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: ``real = scale * (q - zero_point)``, per tensor or per channel."""

    scales: np.ndarray  # float32, one per tensor or one per channel
    zero_points: np.ndarray  # int64, same length as scales
    quantized_dimension: int = 0  # the channel axis when per-channel
    min: np.ndarray | None = None  # recorded float range, if the converter kept it
    max: np.ndarray | None = None

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    def to_dict(self) -> dict:
        return {
            "kind": "per-channel" if self.per_channel else "per-tensor",
            "scales": [float(s) for s in self.scales],
            "zero_points": [int(z) for z in self.zero_points],
            "quantized_dimension": self.quantized_dimension,
        }


@dataclass(frozen=True)
class DimensionMetadata:
    """One traversal dimension of a sparse tensor: DENSE (a size) or SPARSE_CSR (segments, indices)."""

    format: str  # "DENSE" or "SPARSE_CSR"
    dense_size: int = 0
    array_segments: np.ndarray | None = None
    array_indices: np.ndarray | None = None

    def to_dict(self) -> dict:
        if self.format == "DENSE":
            return {"format": "DENSE", "dense_size": self.dense_size}
        return {
            "format": "SPARSE_CSR",
            "segments": len(self.array_segments) if self.array_segments is not None else 0,
            "indices": len(self.array_indices) if self.array_indices is not None else 0,
        }


@dataclass(frozen=True)
class Sparsity:
    """TFLite's sparse encoding of a constant tensor (TACO-style, optionally blocked)."""

    traversal_order: tuple[int, ...]
    block_map: tuple[int, ...]  # original dims that are blocked, in block-dim order
    dim_metadata: tuple[DimensionMetadata, ...]  # one per traversal dimension

    def block_shape(self) -> tuple[int, ...]:
        """The block size along each dim of ``block_map`` (empty when not blocked)."""
        rank = len(self.traversal_order) - len(self.block_map)
        sizes = []
        for block_dim in range(rank, rank + len(self.block_map)):
            level = self.traversal_order.index(block_dim) if block_dim in self.traversal_order else -1
            sizes.append(self.dim_metadata[level].dense_size if 0 <= level < len(self.dim_metadata) else 0)
        return tuple(sizes)

    def to_dict(self) -> dict:
        return {
            "traversal_order": list(self.traversal_order),
            "block_map": list(self.block_map),
            "block_shape": list(self.block_shape()),
            "dim_metadata": [d.to_dict() for d in self.dim_metadata],
        }


@dataclass
class Tensor:
    """A tensor of a subgraph; ``data`` holds the constant value, if it has one."""

    index: int
    name: str   # "#<index>" for a tensor the file leaves unnamed (trimmed compact forms)
    dtype: str  # numpy-style name: "float32", "int8", ... also "int4", "bfloat16"
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]  # -1 marks a dynamic dimension; equals shape if absent
    buffer: int  # index into the model's buffers (0 = no data)
    bits: int = 0  # bits per element (4 for int4, 0 for string/resource/variant)
    nbytes: int = 0  # bytes the constant occupies in the file (sparse: the encoded size)
    data: np.ndarray | None = None  # constant value in ``shape`` (sparse tensors densified)
    quantization: Quantization | None = None
    sparsity: Sparsity | None = None
    is_variable: bool = False
    note: str | None = None  # why a constant has no ``data`` (external buffer, undecodable type)

    @property
    def is_constant(self) -> bool:
        """True for tensors backed by a buffer in the file (weights, biases, shape constants)."""
        return self.nbytes > 0 and not self.is_variable

    @property
    def dense_nbytes(self) -> int:
        """Bytes of the tensor laid out dense (what it takes in the interpreter's arena)."""
        elements = 1
        for dim in self.shape:
            elements *= max(dim, 0)
        return -(-elements * self.bits // 8)

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES


@dataclass
class Operator:
    """One operator node; ``opcode`` is the builtin name or, for CUSTOM ops, the custom code."""

    index: int
    opcode: str
    builtin_code: int
    custom_code: str | None
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...] = ()
    custom_options: bytes | None = None

    @property
    def is_custom(self) -> bool:
        return self.builtin_code == CUSTOM_OPCODE


@dataclass
class Subgraph:
    index: int
    name: str
    tensors: list[Tensor]
    operators: list[Operator]  # execution order
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]

    def consumers(self) -> dict[int, list[tuple[Operator, int]]]:
        """tensor index -> [(operator, input position)] for every operator that reads it."""
        readers: dict[int, list[tuple[Operator, int]]] = {}
        for op in self.operators:
            for position, tensor in enumerate(op.inputs):
                if tensor >= 0:
                    readers.setdefault(tensor, []).append((op, position))
        return readers


@dataclass
class SignatureDef:
    """A named entry point: signature names of inputs/outputs -> tensor indices of a subgraph."""

    key: str
    subgraph_index: int
    inputs: dict[str, int]
    outputs: dict[str, int]


@dataclass
class TFLiteModel:
    path: Path | None  # None when parsed from bytes
    size_bytes: int
    version: int  # schema version (3 for every current TFLite file)
    description: str
    subgraphs: list[Subgraph]
    signatures: list[SignatureDef] = field(default_factory=list)
    metadata: dict[str, bytes] = field(default_factory=dict)  # name -> buffer content
    buffer_count: int = 0

    @property
    def main(self) -> Subgraph:
        """Subgraph 0, the one the interpreter runs by default."""
        return self.subgraphs[0]

    @property
    def operators(self) -> list[Operator]:
        """Every operator of every subgraph."""
        return [op for graph in self.subgraphs for op in graph.operators]

    @property
    def custom_ops(self) -> list[str]:
        """Custom codes of the CUSTOM ops, sorted, each once."""
        return sorted({op.opcode for op in self.operators if op.is_custom})

    def min_runtime_version(self) -> str | None:
        """The ``min_runtime_version`` metadata the converter writes (e.g. ``"1.14.0"``)."""
        raw = self.metadata.get("min_runtime_version")
        return raw.split(b"\0", 1)[0].decode("ascii", errors="replace") if raw else None
