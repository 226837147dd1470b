"""Run-aware pruning: the Viterbi is optimal, the count is exact, and the file's zeros come in runs."""

from __future__ import annotations

import gzip
import itertools

import numpy as np
import pytest

from edgekit.models import compile_classifier
from edgekit.optimize.pruning import ConstantSparsity, UpdatePruningStep, prune_low_magnitude, strip_pruning
from edgekit.optimize.pruning.runs import _best_path, run_aware_mask


def _switches(mask: np.ndarray) -> int:
    return int(np.sum(mask[..., 1:] != mask[..., :-1]))


def _objective(gains: np.ndarray, keep: np.ndarray, switch_cost: float) -> float:
    return float(gains[keep].sum() - switch_cost * _switches(keep))


def test_best_path_is_the_optimum_of_kept_gain_minus_switch_costs():
    rng = np.random.default_rng(0)
    gains = rng.normal(size=(10, 6)).astype(np.float32)  # (length, rows), as the Viterbi walks
    paths = np.array(list(itertools.product([False, True], repeat=10)))
    for switch_cost in (0.0, 0.4, 1.5):
        keep = _best_path(gains, switch_cost)
        for row in range(gains.shape[1]):
            best = max(_objective(gains[:, row], path, switch_cost) for path in paths)
            assert _objective(gains[:, row], keep[:, row], switch_cost) == pytest.approx(best, abs=1e-5)


@pytest.mark.parametrize("cost", [0.0, 0.3, 1.0])
def test_prunes_exactly_the_scheduled_number(cost):
    magnitudes = np.abs(np.random.default_rng(1).normal(size=(48, 300))).astype(np.float32)
    mask = run_aware_mask(magnitudes, 0.8, cost)
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert int((mask == 0).sum()) == round(0.8 * magnitudes.size)


def test_cost_zero_is_plain_magnitude_and_higher_costs_trade_magnitude_for_fewer_runs():
    magnitudes = np.abs(np.random.default_rng(2).normal(size=(32, 512))).astype(np.float32)
    masks = {cost: run_aware_mask(magnitudes, 0.8, cost).astype(bool) for cost in (0.0, 0.3, 1.0)}
    assert magnitudes[masks[0.0]].min() >= magnitudes[~masks[0.0]].max()
    switches = [_switches(masks[cost]) for cost in (0.0, 0.3, 1.0)]
    kept = [magnitudes[masks[cost]].sum() for cost in (0.0, 0.3, 1.0)]
    assert switches[0] > switches[1] > switches[2]
    assert kept[0] > kept[1] > kept[2]


def _zero_runs(kernel: np.ndarray) -> float:
    """Mean length of the runs of zeros along each TFLite row (out, ..., in flattened)."""
    rows = (kernel.reshape(kernel.shape[0], -1) == 0).astype(np.int8)
    edges = np.diff(np.pad(rows, [(0, 0), (1, 1)]), axis=1)
    return float(rows.sum() / np.sum(edges == 1))


@pytest.mark.slow
def test_run_cost_leaves_longer_zero_runs_and_a_smaller_gzip_in_the_int8_file(trained, digits):
    from helpers.support import tflite_weights
    from edgekit.convert import convert_model

    x, y, _, _ = digits
    files = {}
    for cost in (0.0, 0.5):
        pruned = prune_low_magnitude(trained, ConstantSparsity(0.8, 0, frequency=4), run_cost=cost)
        compile_classifier(pruned, 1e-3)
        pruned.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0, callbacks=[UpdatePruningStep()])
        files[cost] = convert_model(strip_pruning(pruned), quantize="int8", representative=x[:64], per_tensor=True)
    plain, runs = tflite_weights(files[0.0]), tflite_weights(files[0.5])
    fc1 = max(runs, key=lambda name: runs[name].size)
    for name, kernel in runs.items():
        assert np.sum(kernel == 0) >= round(0.8 * kernel.size), name
    assert _zero_runs(runs[fc1]) > 1.5 * _zero_runs(plain[fc1])
    assert len(gzip.compress(files[0.5], 9)) < len(gzip.compress(files[0.0], 9))


def test_kernels_too_small_to_matter_are_pruned_plainly():
    """Under GZIP_AWARE_MIN_WEIGHTS (4096) a run cost changes nothing; above it, it does."""
    import keras

    from edgekit.optimize.layers import GZIP_AWARE_MIN_WEIGHTS
    from edgekit.optimize.pruning import PruneLowMagnitude

    keras.utils.set_random_seed(0)
    masks = {}
    for units in (8, 128):  # 64 x 8 = 512 weights, 64 x 128 = 8192
        for cost in (0.0, 1.0):
            dense = keras.layers.Dense(units)
            dense.build((None, 64))
            dense.kernel.assign(np.random.default_rng(units).normal(size=(64, units)).astype("float32"))
            wrapper = PruneLowMagnitude(dense, ConstantSparsity(0.8), ("kernel",), run_cost=cost)
            wrapper.build((None, 64))
            wrapper.update_masks(0)
            masks[units, cost] = np.asarray(wrapper.masks[0])
    assert 64 * 8 < GZIP_AWARE_MIN_WEIGHTS <= 64 * 128
    assert np.array_equal(masks[8, 0.0], masks[8, 1.0])
    assert not np.array_equal(masks[128, 0.0], masks[128, 1.0])
    assert masks[128, 1.0].sum() == masks[128, 0.0].sum()


@pytest.mark.parametrize("settings, message", [
    (dict(run_cost=-0.1), "prune run cost must be a number >= 0"),
    (dict(run_cost="much"), "prune run cost must be a number >= 0"),
    (dict(run_cost=0.3, block_size=4), "exclude each other"),
    (dict(run_cost=0.3, n_of_m=(2, 4)), "excludes block pruning and a prune run cost"),
])
def test_bad_run_costs_are_usage_errors(trained, settings, message):
    from edgekit.errors import UsageError

    with pytest.raises(UsageError, match=message):
        prune_low_magnitude(trained, ConstantSparsity(0.5), **settings)
