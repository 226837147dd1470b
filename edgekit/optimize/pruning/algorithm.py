"""Magnitude masks: keep the largest weights (unstructured or in 1xK blocks) or the n largest of every m (N:M).

Written with ``keras.ops`` so they run inside the compiled training step. A mask is 1 for
kept weights and 0 for pruned ones, with the weight's shape.
"""

from __future__ import annotations

from keras import ops


def magnitude_mask(weights, sparsity):
    """Zero the ``round(size * sparsity)`` smallest magnitudes (ties at the threshold go too).

    Pruning "at least" that many keeps the achieved sparsity >= the target, so exact zeros
    (already pruned weights) are always among the pruned ones.
    """
    magnitudes = ops.reshape(ops.abs(weights), (-1,))
    size = int(magnitudes.shape[0])
    n_prune = ops.cast(ops.round(ops.cast(sparsity, "float32") * size), "int32")
    ordered = ops.sort(magnitudes)
    threshold = ops.take(ordered, ops.maximum(n_prune - 1, 0))
    keep = ops.logical_or(ops.greater(ops.abs(weights), threshold), ops.equal(n_prune, 0))
    return ops.cast(keep, weights.dtype)


def n_of_m_mask(weights, n: int, m: int):
    """Keep the ``n`` largest magnitudes in every group of ``m`` consecutive input channels.

    ``weights`` is laid out ``(..., in, out)`` (Dense, Conv, pointwise kernels): the groups run
    along ``in``, which the TFLite converter makes the innermost axis of the filter, the layout
    sparse kernels (XNNPACK, N:M hardware) read. A partial last group is padded, never kept.
    """
    groups, restore = _input_groups(ops.abs(weights), m, pad_value=-1.0)
    rank_in_group = ops.argsort(ops.argsort(-groups, axis=-1), axis=-1)
    return restore(ops.cast(ops.less(rank_in_group, n), weights.dtype))


def block_magnitude_mask(weights, sparsity, block_size: int):
    """``magnitude_mask`` over blocks of ``block_size`` consecutive input channels.

    A block is kept or pruned whole, ranked by its mean magnitude, so the zeros form runs
    along TFLite's innermost axis: runs that gzip codes in a few bits, and the 1xK blocks
    TFLite's sparse fully-connected kernels expect. A partial last block counts its padding
    as zeros.
    """
    groups, restore = _input_groups(ops.abs(weights), block_size, pad_value=0.0)
    keep = magnitude_mask(ops.mean(groups, axis=-1), sparsity)
    return restore(ops.repeat(ops.expand_dims(keep, -1), block_size, axis=-1))


def _input_groups(magnitudes, m: int, pad_value: float):
    """``magnitudes`` as rows of ``m`` consecutive input channels, and the inverse for a per-row result.

    Kernels are ``(..., in, out)``; rows are taken from the ``(..., out, in)`` transpose,
    the padded tail of each ``in`` run filled with ``pad_value``.
    """
    rank = len(magnitudes.shape)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    moved = ops.transpose(magnitudes, perm)  # (..., out, in)
    moved_shape = tuple(moved.shape)
    channels = moved_shape[-1]
    pad = (-channels) % m
    if pad:
        moved = ops.pad(moved, [(0, 0)] * (rank - 1) + [(0, pad)], constant_values=pad_value)

    def restore(rows):
        return ops.transpose(ops.reshape(rows, moved_shape[:-1] + (channels + pad,))[..., :channels], perm)

    return ops.reshape(moved, (-1, m)), restore


