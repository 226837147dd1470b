"""Run-aware magnitude masks: prune so that the zeros form long runs, which gzip codes cheaply.

Plain magnitude pruning scatters its zeros. DEFLATE (gzip, zip, most OTA update formats)
spends at least one bit on every isolated zero byte and only codes runs of zeros as a
unit, so the scattered zeros are most of a pruned-and-clustered model's compressed size.
Here each row of a kernel, taken in TFLite's byte order, gets the mask that keeps the most
magnitude minus ``cost`` for every switch between kept and pruned weights (a two-state
Viterbi): a weight just below the threshold inside a kept run stays, one just above it
inside a pruned run goes. Unlike 1xK blocks the runs have no fixed length, so the same
gzip saving costs far less kept magnitude. A search over the threshold makes the mask
prune exactly the scheduled number of weights.

Runs on NumPy: masks are recomputed eagerly by the pruning callback, never inside the
compiled training step.
"""

from __future__ import annotations

import numpy as np

# Thresholds tried per search round, and rounds: the threshold is found to 1/16**3 of the
# largest magnitude, and the last few weights are settled by magnitude (``_settle``).
_GRID = 16
_ROUNDS = 3


def run_aware_kernel_mask(kernel: np.ndarray, sparsity: float, cost: float) -> np.ndarray:
    """:func:`run_aware_mask` for a ``(..., in, out)`` kernel, whose TFLite rows are ``(out, ..., in)``."""
    perm = [kernel.ndim - 1] + list(range(kernel.ndim - 1))
    rows = np.transpose(np.abs(kernel), perm)
    mask = run_aware_mask(rows.reshape(rows.shape[0], -1), sparsity, cost).reshape(rows.shape)
    return np.transpose(mask, np.argsort(perm))


def run_aware_mask(magnitudes: np.ndarray, sparsity: float, cost: float) -> np.ndarray:
    """A 0/1 mask over ``magnitudes`` (rows, length) pruning ``round(size * sparsity)`` weights.

    ``cost`` is charged per kept/pruned switch along a row, in units of the threshold plain
    magnitude pruning would use; 0 gives plain magnitude pruning (up to ties).
    """
    magnitudes = np.asarray(magnitudes, dtype=np.float32)
    n_keep = magnitudes.size - int(round(float(sparsity) * magnitudes.size))
    if n_keep >= magnitudes.size:
        return np.ones_like(magnitudes)
    if n_keep == 0:
        return np.zeros_like(magnitudes)
    threshold = float(np.partition(magnitudes.ravel(), magnitudes.size - n_keep - 1)[magnitudes.size - n_keep - 1])
    switch_cost = float(cost) * threshold
    columns = np.ascontiguousarray(magnitudes.T)  # the Viterbi walks along rows, all rows at once
    tau = _search_threshold(columns, n_keep, switch_cost, float(magnitudes.max()))
    keep = _best_path(columns - tau, switch_cost).T
    return _settle(keep, magnitudes, n_keep).astype(np.float32)


def _search_threshold(columns: np.ndarray, n_keep: int, switch_cost: float, top: float) -> float:
    """The threshold whose best paths keep closest to ``n_keep`` weights (kept count falls as it rises)."""
    low, high = 0.0, top
    best, best_gap = 0.0, np.inf
    for _ in range(_ROUNDS):
        taus = np.linspace(low, high, _GRID, dtype=np.float32)
        counts = _kept_counts(columns, taus, switch_cost)
        gaps = np.abs(counts - n_keep)
        if gaps.min() < best_gap:
            best, best_gap = float(taus[gaps.argmin()]), gaps.min()
        above = np.nonzero(counts >= n_keep)[0]  # thresholds low enough to keep enough
        i = int(above[-1]) if len(above) else 0
        low, high = float(taus[i]), float(taus[min(i + 1, _GRID - 1)])
        if best_gap == 0 or low == high:
            break
    return best


def _kept_counts(columns: np.ndarray, taus: np.ndarray, switch_cost: float) -> np.ndarray:
    """For each threshold in ``taus``: how many weights the rows' best paths keep (forward pass only)."""
    gains = columns[:, None, :] - taus[None, :, None]  # (length, thresholds, rows)
    pruned_value = np.zeros(gains.shape[1:], np.float32)
    kept_value = gains[0].copy()
    pruned_count = np.zeros(gains.shape[1:], np.int64)
    kept_count = np.ones(gains.shape[1:], np.int64)
    for gain in gains[1:]:
        into_pruned = kept_value - switch_cost > pruned_value
        into_kept = pruned_value - switch_cost > kept_value
        pruned_value, kept_value = (np.where(into_pruned, kept_value - switch_cost, pruned_value),
                                    np.where(into_kept, pruned_value - switch_cost, kept_value) + gain)
        pruned_count, kept_count = (np.where(into_pruned, kept_count, pruned_count),
                                    np.where(into_kept, pruned_count, kept_count) + 1)
    return np.where(kept_value > pruned_value, kept_count, pruned_count).sum(axis=-1)


def _best_path(gains: np.ndarray, switch_cost: float) -> np.ndarray:
    """The kept/pruned sequence per row maximising kept gain minus switch costs; (length, rows) bool."""
    length, rows = gains.shape
    pruned_value = np.zeros(rows, np.float32)
    kept_value = gains[0].copy()
    from_kept = np.zeros((length, rows), bool)    # best way into "pruned" at j came from "kept"
    from_pruned = np.zeros((length, rows), bool)  # best way into "kept" at j came from "pruned"
    for j in range(1, length):
        from_kept[j] = kept_value - switch_cost > pruned_value
        from_pruned[j] = pruned_value - switch_cost > kept_value
        pruned_value, kept_value = (np.where(from_kept[j], kept_value - switch_cost, pruned_value),
                                    np.where(from_pruned[j], pruned_value - switch_cost, kept_value) + gains[j])
    keep = np.zeros((length, rows), bool)
    state = kept_value > pruned_value
    for j in range(length - 1, -1, -1):
        keep[j] = state
        state = np.where(state, ~from_pruned[j], from_kept[j])
    return keep


def _settle(keep: np.ndarray, magnitudes: np.ndarray, n_keep: int) -> np.ndarray:
    """``keep`` with exactly ``n_keep`` weights kept: drop the smallest kept or add the largest pruned."""
    keep = keep.copy()
    surplus = int(keep.sum()) - n_keep
    flat_keep, flat_mag = keep.ravel(), magnitudes.ravel()
    if surplus > 0:
        kept = np.nonzero(flat_keep)[0]
        flat_keep[kept[np.argsort(flat_mag[kept], kind="stable")[:surplus]]] = False
    elif surplus < 0:
        pruned = np.nonzero(~flat_keep)[0]
        flat_keep[pruned[np.argsort(-flat_mag[pruned], kind="stable")[:-surplus]]] = True
    return keep
