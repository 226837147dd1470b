"""Ternary and binary weights: the levels rule, levels per channel through train -> save -> load -> int8, bad settings."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.support import tflite_weights


def _per_channel_values(kernel: np.ndarray) -> int:
    """Most distinct values in any output channel of a TFLite kernel (output channels first)."""
    rows = kernel.reshape(kernel.shape[0], -1)
    return max(len(np.unique(row)) for row in rows)


def test_ternary_rule_by_hand():
    from keras import ops

    from edgekit.optimize.lowbit.levels import low_bit

    # two output channels (columns); channel 0: mean|w| = 1.0 -> threshold 0.7: 0.2 and -0.6 become 0,
    # a = mean(|1.2|, |2.0|) = 1.6; channel 1: mean|w| = 0.25 -> threshold 0.175: all kept, a = 0.25
    w = np.array([[0.2, 0.25], [-0.6, -0.25], [1.2, 0.25], [-2.0, -0.25]], np.float32)
    q = ops.convert_to_numpy(low_bit(w, 3, 0.7))
    np.testing.assert_allclose(q, [[0, 0.25], [0, -0.25], [1.6, 0.25], [-1.6, -0.25]], rtol=1e-6)
    binary = ops.convert_to_numpy(low_bit(w, 2, 0.0))
    np.testing.assert_allclose(binary[:, 0], [1.0, -1.0, 1.0, -1.0], rtol=1e-6)
    kept = ops.convert_to_numpy(low_bit(w, 3, 0.7, keep=np.array([[0, 1], [1, 1], [1, 1], [1, 1]])))
    assert kept[0, 0] == 0  # a held zero stays zero and is left out of the statistics
    np.testing.assert_allclose(kept[2:, 0], [1.6, -1.6], rtol=1e-6)  # mean|w| of 0.6, 1.2, 2.0 = 1.27 -> 0.6 cut


def test_straight_through_gradient_reaches_the_latent_kernel(trained, digits):
    import keras

    from edgekit.optimize.lowbit import quantize_weights

    x, y = digits[0][:64], digits[1][:64]
    wrapped, kept = quantize_weights(trained, 3)
    assert kept == ["conv1", "logits"]
    layer = next(l for l in wrapped.layers if l.name == "lowbit_fc1")
    before = np.array(layer.layer.kernel.numpy())
    wrapped.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    wrapped.fit(x, y, epochs=1, verbose=0)
    assert np.abs(layer.layer.kernel.numpy() - before).max() > 0  # ternary forward, full-precision update


@pytest.mark.parametrize("flag, levels, zeros", [("--ternary", 3, True), ("--binary", 2, False)])
def test_levels_per_channel_through_save_load_and_int8(cli, digits_model, digits_train, digits_val, tmp_path,
                                                       flag, levels, zeros):
    out, tflite = tmp_path / "low.keras", tmp_path / "low.tflite"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, "--val-data", digits_val,
                 "--epochs", 1, flag, "--tflite", tflite, "--json")
    assert result.exit_code == 0, result.output
    import json

    summary = json.loads(result.stdout)
    assert summary["accuracy_after"] > 0.9
    import keras

    loaded = keras.saving.load_model(out)  # a plain model: no edgekit class needed
    assert {type(l).__name__ for l in loaded.layers} <= {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"}
    for name in ("conv2", "fc1"):
        kernel = loaded.get_layer(name).kernel.numpy().reshape(-1, loaded.get_layer(name).kernel.shape[-1])
        assert max(len(np.unique(kernel[:, c])) for c in range(kernel.shape[1])) <= levels
        assert (np.mean(kernel == 0) > 0.2) == zeros
    weights = tflite_weights(tflite.read_bytes())
    per_channel = {name: _per_channel_values(w) for name, w in weights.items()}
    low = [name for name in per_channel if "conv2" in name or "fc1" in name]
    ends = [name for name in per_channel if "conv1" in name or "logits" in name]
    assert low and ends
    assert all(per_channel[name] <= levels for name in low), per_channel
    assert all(per_channel[name] > levels for name in ends), per_channel  # first and last layers kept at int8


def test_pruned_zeros_stay_through_ternary(trained, digits):
    from edgekit.data import Dataset
    from edgekit.optimize.engine import Recipe, optimize
    from edgekit.optimize.ternary.config import TernaryConfig
    from edgekit.optimize.pruning.config import PruneConfig
    from edgekit.optimize.stages import Step
    from edgekit.optimize.trainer import Finetune

    train = Dataset(digits[0][:512], digits[1][:512], "digits")
    recipe = Recipe([Step("prune", PruneConfig(sparsity=0.8, schedule="constant")),
                     Step("ternary", TernaryConfig())], Finetune(epochs=1))
    model = optimize(trained, recipe, train).model
    for layer in ("conv1", "conv2", "fc1", "logits"):
        kernel = model.get_layer(layer).kernel.numpy()
        assert np.mean(kernel == 0) >= 0.79, layer  # 80% of a small kernel, rounded down; the int8 ends too
        view = kernel.reshape(-1, kernel.shape[-1])
        values = max(len(np.unique(view[:, c])) for c in range(view.shape[1]))
        assert values <= 3 if layer in ("conv2", "fc1") else values > 3, layer


@pytest.mark.parametrize("flags, message", [
    (["--ternary", "--cluster", "16"], "stages 'cluster' and 'ternary' cannot be combined"),
    (["--binary", "--ternary"], "stages 'ternary' and 'binary' cannot be combined"),
    (["--binary", "--prune", "0.5"], "stages 'prune' and 'binary' cannot be combined"),
    (["--ternary", "--qat"], "stages 'ternary' and 'qat' cannot be combined"),
    (["--ternary", "--ternary-threshold", "0"], "ternary threshold must be in (0, 2]"),
    (["--ternary-threshold", "0.5"], "--ternary-threshold needs --ternary"),
    (["--binary-include-ends"], "--binary-include-ends needs --binary"),
])
def test_bad_settings(cli, digits_model, digits_train, tmp_path, flags, message):
    out = tmp_path / "never.keras"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, *flags)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()
