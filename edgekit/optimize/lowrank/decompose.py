"""Kernel factorizations (NumPy only): truncated SVD, Tucker-2 (HOSVD) and the spatial k x 1 + 1 x k split.

Every function returns the kernels of the layers that replace one kernel, in the order the
input meets them, laid out as Keras lays them out (Dense ``(in, out)``, Conv2D
``(kh, kw, in, out)``). Chaining those layers computes the original layer exactly at full
rank and its best rank-r approximation (in the Frobenius norm, per unfolding for Tucker-2)
below it, so fine-tuning starts from the closest model of the smaller shape.
"""

from __future__ import annotations

import numpy as np


def singular_values(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.svd(matrix.astype(np.float64), compute_uv=False)


def energy_rank(values: np.ndarray, energy: float) -> int:
    """The smallest rank whose leading singular values hold ``energy`` of the total sum of squares."""
    squares = np.asarray(values, np.float64) ** 2
    total = squares.sum()
    if total == 0:
        return 1
    kept = np.cumsum(squares) / total
    return int(min(np.searchsorted(kept, energy - 1e-12) + 1, len(values)))


def svd_pair(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` with ``a @ b`` the best rank-``rank`` approximation; the singular values split evenly (sqrt)."""
    u, s, vt = np.linalg.svd(matrix.astype(np.float64), full_matrices=False)
    root = np.sqrt(s[:rank])
    return (u[:, :rank] * root).astype(matrix.dtype), (root[:, None] * vt[:rank]).astype(matrix.dtype)


def mode_unfolding(kernel: np.ndarray, axis: int) -> np.ndarray:
    """The kernel as a matrix with ``axis`` as rows (the input- or output-channel mode of Tucker-2)."""
    return np.moveaxis(kernel, axis, 0).reshape(kernel.shape[axis], -1)


def tucker2(kernel: np.ndarray, rank_in: int, rank_out: int) -> list[np.ndarray]:
    """A Conv2D kernel ``(kh, kw, C, S)`` as 1x1 ``(1, 1, C, r_in)`` -> core ``(kh, kw, r_in, r_out)`` ->
    1x1 ``(1, 1, r_out, S)``: HOSVD, the leading left singular vectors of the two channel unfoldings.

    A mode kept at full width (``r_in == C`` or ``r_out == S``) needs no projection: the
    core absorbs it, and its 1x1 is left out.
    """
    wide = kernel.astype(np.float64)
    c, s = kernel.shape[2:]
    u_in = np.linalg.svd(mode_unfolding(wide, 2), full_matrices=False)[0][:, :rank_in] if rank_in < c else np.eye(c)
    u_out = np.linalg.svd(mode_unfolding(wide, 3), full_matrices=False)[0][:, :rank_out] if rank_out < s else np.eye(s)
    parts = [u_in[None, None]] if rank_in < c else []
    parts.append(np.einsum("hwcs,cr,sq->hwrq", wide, u_in, u_out))
    parts += [u_out.T[None, None]] if rank_out < s else []
    return [part.astype(kernel.dtype) for part in parts]


def spatial_unfolding(kernel: np.ndarray) -> np.ndarray:
    """``(kh, kw, C, S)`` -> ``(kh * C, kw * S)``: rows a vertical filter, columns a horizontal one."""
    kh, kw, c, s = kernel.shape
    return kernel.transpose(0, 2, 1, 3).reshape(kh * c, kw * s)


def spatial_pair(kernel: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """A Conv2D kernel as a ``(kh, 1, C, r)`` then a ``(1, kw, r, S)`` convolution (Jaderberg et al.'s scheme 2)."""
    kh, kw, c, s = kernel.shape
    a, b = svd_pair(spatial_unfolding(kernel), rank)
    return a.reshape(kh, c, rank)[:, None], b.reshape(rank, kw, s).transpose(1, 0, 2)[None]


def compose(parts: list[np.ndarray]) -> np.ndarray:
    """The single kernel the chained factor kernels compute (for the retained-energy figure and tests).

    Convolution kernels compose as stride-1 correlations: a kh x 1 then a 1 x kw kernel
    make a kh x kw one; with a 1x1 it is a matrix product per tap.
    """
    result = parts[0].astype(np.float64)
    for part in parts[1:]:
        if result.ndim == 2:
            result = result @ part
            continue
        (h1, w1), (h2, w2) = result.shape[:2], part.shape[:2]
        chained = np.zeros((h1 + h2 - 1, w1 + w2 - 1, result.shape[2], part.shape[3]))
        for i in range(h2):
            for j in range(w2):
                chained[i:i + h1, j:j + w1] += result @ part[i, j]
        result = chained
    return result
