"""Densify TFLite sparse-encoded constants (what the DENSIFY op does), vectorised with numpy.

TFLite stores a sparse tensor TACO-style: the dense shape is (optionally) split into
blocks, giving ``rank + len(block_map)`` dimensions visited in ``traversal_order``; each
visited dimension is DENSE (every index present) or SPARSE_CSR (``array_segments`` per
parent position, ``array_indices`` per stored child). The position reached after the
last dimension indexes the stored values.
"""

from __future__ import annotations

import numpy as np

from edgekit.inspect.model import Sparsity

# Densifying allocates the full tensor and an index per element: larger tensors are
# reported without data rather than risking the machine's memory.
MAX_DENSE_ELEMENTS = 1 << 24


class SparsityError(ValueError):
    """The sparsity parameters are inconsistent with the tensor's shape or stored values."""


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity: Sparsity) -> np.ndarray:
    """The dense ``shape`` array whose non-stored elements are 0."""
    rank = len(shape)
    order = sparsity.traversal_order
    if sorted(order) != list(range(len(order))) or len(order) != len(sparsity.dim_metadata):
        raise SparsityError(f"traversal order {list(order)} does not match {len(sparsity.dim_metadata)} dimensions")
    if len(order) != rank + len(sparsity.block_map) or any(not 0 <= d < rank for d in sparsity.block_map):
        raise SparsityError(f"block map {list(sparsity.block_map)} does not fit a rank-{rank} tensor")
    if any(d < 0 for d in shape):
        raise SparsityError(f"negative dimension in shape {list(shape)}")
    sizes = _expanded_sizes(shape, sparsity)

    positions = np.zeros(1, dtype=np.int64)
    coords: list[np.ndarray] = []
    for level, meta in enumerate(sparsity.dim_metadata):
        size = sizes[order[level]]
        if meta.format == "DENSE":
            if meta.dense_size != size:
                raise SparsityError(f"dense dimension {order[level]} has size {meta.dense_size}, expected {size}")
            parents = len(positions)
            positions = (positions[:, None] * size + np.arange(size)).ravel()
            coords = [np.repeat(c, size) for c in coords] + [np.tile(np.arange(size), parents)]
        else:
            positions, rows = _csr_children(positions, meta.array_segments, meta.array_indices, size)
            coords = [c[rows] for c in coords] + [meta.array_indices.astype(np.int64)[positions]]
    if positions.size and (positions.max() >= len(values)):
        raise SparsityError(f"encoding addresses value {int(positions.max())} of only {len(values)} stored")

    dense = np.zeros(shape, dtype=values.dtype)
    index = []
    for dim in range(rank):
        c = coords[order.index(dim)]
        if dim in sparsity.block_map:
            block_dim = rank + sparsity.block_map.index(dim)
            c = c * sizes[block_dim] + coords[order.index(block_dim)]
        index.append(c)
    dense[tuple(index)] = values[positions]
    return dense


def _expanded_sizes(shape: tuple[int, ...], sparsity: Sparsity) -> list[int]:
    """Sizes of the ``rank + blocks`` traversal dimensions: blocked dims divided by their block."""
    sizes = list(shape)
    for block_dim, size in enumerate(sparsity.block_shape()):
        dim = sparsity.block_map[block_dim]
        if size <= 0 or shape[dim] % size:
            raise SparsityError(f"block size {size} does not divide dimension {dim} of {list(shape)}")
        sizes[dim] //= size
        sizes.append(size)
    return sizes


def _csr_children(
    parents: np.ndarray, segments: np.ndarray | None, indices: np.ndarray | None, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expand each parent position into its stored children: (child positions, parent row of each)."""
    if segments is None or indices is None:
        raise SparsityError("a SPARSE_CSR dimension lacks its segments or indices")
    segments = segments.astype(np.int64)
    if parents.size and parents.max() + 1 >= len(segments):
        raise SparsityError(f"{len(segments)} segments for {int(parents.max()) + 2} positions")
    starts, ends = segments[parents], segments[parents + 1]
    counts = ends - starts
    if (counts < 0).any() or (starts.size and (starts.min() < 0 or ends.max() > len(indices))):
        raise SparsityError("CSR segments are not increasing or point past the indices")
    rows = np.repeat(np.arange(len(parents)), counts)
    children = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    children += np.repeat(starts, counts)
    found = indices[children] if children.size else children
    if found.size and (found.min() < 0 or found.max() >= size):
        raise SparsityError(f"CSR index {int(found.max())} outside a dimension of size {size}")
    return children, rows
