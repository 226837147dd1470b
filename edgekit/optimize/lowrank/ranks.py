"""Ranks and parameter counts of the three factorizations, from a kernel's shape (NumPy only).

``svd``: a Dense kernel ``(m, n)`` or a 1x1 Conv2D kernel as a rank-r product, r (m + n)
weights. ``tucker``: a k x k Conv2D kernel ``(kh, kw, C, S)`` as 1x1 -> k x k -> 1x1,
C r_in + kh kw r_in r_out + r_out S (a 1x1 at full width is left out). ``spatial``: a kh x 1 then a 1 x kw convolution,
r (kh C + kw S). A rank follows from a parameter ratio (the largest that fits), from a
retained energy (the smallest that holds it) or is given.
"""

from __future__ import annotations

import math

import numpy as np

from edgekit.optimize.lowrank.decompose import energy_rank, mode_unfolding, singular_values, spatial_unfolding


def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    """A Dense or 1x1 Conv2D kernel's (inputs, outputs)."""
    return int(np.prod(shape[:-1])), int(shape[-1])


def kernel_cost(method: str, shape: tuple[int, ...], ranks: tuple[int, ...]) -> int:
    """Weights of the factor kernels that replace a kernel of ``shape`` at ``ranks``."""
    if method == "svd":
        m, n = matrix_shape(shape)
        return ranks[0] * (m + n)
    kh, kw, c, s = shape
    if method == "tucker":  # a full-width mode has no 1x1 (see decompose.tucker2)
        r_in, r_out = ranks
        return c * r_in * (r_in < c) + kh * kw * r_in * r_out + r_out * s * (r_out < s)
    return ranks[0] * (kh * c + kw * s)


def full_ranks(method: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The ranks at which the factorization is exact."""
    if method == "svd":
        return (min(matrix_shape(shape)),)
    kh, kw, c, s = shape
    if method == "tucker":  # a channel unfolding has no more independent rows than it has columns
        return min(c, kh * kw * s), min(s, kh * kw * c)
    return (min(kh * c, kw * s),)


def ranks_for_ratio(method: str, kernel: np.ndarray, ratio: float) -> tuple[int, ...]:
    """The ranks whose factor kernels hold at most ``ratio`` of the kernel's weights (at least 1 each).

    One rank (SVD, spatial): the largest that fits. Tucker-2's two ranks: of the pairs that
    fit, the one keeping the most of both channel modes' energy (the product of the two
    retained fractions), so a layer with few input channels spends its budget on outputs.
    """
    shape = kernel.shape
    budget = ratio * math.prod(shape)
    full = full_ranks(method, shape)
    if method != "tucker":
        per_rank = kernel_cost(method, shape, (1,))
        return (max(1, min(full[0], int(budget // per_rank))),)
    kept_in, kept_out = (_cumulative_energy(kernel, axis)[:rank] for axis, rank in ((2, full[0]), (3, full[1])))
    r_in, r_out = np.meshgrid(np.arange(1, full[0] + 1), np.arange(1, full[1] + 1), indexing="ij")
    cost = kernel_cost(method, shape, (r_in, r_out))
    fits = (cost <= budget) & (cost < math.prod(shape))
    score = np.where(fits, kept_in[:, None] * kept_out[None, :], -1.0)
    if score.max() < 0:
        return (1, 1)
    best = np.flatnonzero(score == score.max())[-1]  # ties: the larger ranks
    return int(r_in.flat[best]), int(r_out.flat[best])


def _cumulative_energy(kernel: np.ndarray, axis: int) -> np.ndarray:
    squares = singular_values(mode_unfolding(kernel, axis)) ** 2
    total = squares.sum()
    return np.cumsum(squares) / total if total else np.ones_like(squares)


def ranks_for_energy(method: str, kernel: np.ndarray, energy: float) -> tuple[int, ...]:
    """The smallest ranks keeping ``energy`` of the squared singular values (of each channel mode for Tucker-2)."""
    if method == "svd":
        return (energy_rank(singular_values(kernel.reshape(matrix_shape(kernel.shape))), energy),)
    if method == "tucker":
        return tuple(energy_rank(singular_values(mode_unfolding(kernel, axis)), energy) for axis in (2, 3))
    return (energy_rank(singular_values(spatial_unfolding(kernel)), energy),)


def ranks_given(method: str, shape: tuple[int, ...], rank: int) -> tuple[int, ...]:
    """An explicit rank, capped at the full ranks (both channel modes for Tucker-2)."""
    return tuple(min(rank, full) for full in full_ranks(method, shape))
