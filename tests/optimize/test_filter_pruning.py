"""Filter pruning: channel bookkeeping through residual/concat graphs, real shrinkage, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.optimize.filters import FilterPruneConfig, prune_filters
from helpers.qat_support import copy_model


def residual_concat_model():
    """Conv-BN-ReLU stem, two residual Adds, a depthwise and a separable conv, a Concatenate, Dense head."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(inp)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    a = layers.Conv2D(16, 1, name="branch_a")(x)
    x = layers.Add(name="add1")([x, a])
    b = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    b = layers.Conv2D(16, 1, name="branch_b")(b)
    x = layers.Add(name="add2")([x, b])
    c = layers.SeparableConv2D(8, 3, padding="same", name="sep")(x)
    x = layers.Concatenate(name="cat")([x, c])
    x = layers.Conv2D(24, 3, strides=2, name="mix")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(12, activation="relu", name="fc")(x)
    out = layers.Dense(5, name="logits")(x)
    model = keras.Model(inp, out, name="rescat")
    # BatchNorm with non-trivial statistics so slicing mistakes show up in the outputs.
    bn = model.get_layer("stem_bn")
    bn.set_weights([np.linspace(0.5, 1.5, 16), np.linspace(-0.2, 0.2, 16),
                    np.linspace(-0.1, 0.1, 16), np.linspace(0.5, 2.0, 16)])
    return model


def kept_columns(original: np.ndarray, pruned: np.ndarray, in_index: np.ndarray | None = None) -> list[int]:
    """Which output channels of ``original`` survive in ``pruned`` (matched by their weights)."""
    if in_index is not None:
        original = original.take(in_index, axis=-2)
    flat_o = original.reshape(-1, original.shape[-1])
    flat_p = pruned.reshape(-1, pruned.shape[-1])
    return [int(np.argmin(np.abs(flat_o - flat_p[:, [j]]).sum(axis=0))) for j in range(flat_p.shape[1])]


def test_ratio_zero_rebuilds_an_identical_model():
    model = residual_concat_model()
    x = np.random.default_rng(0).random((4, 12, 12, 3), dtype=np.float32)
    result = prune_filters(model, FilterPruneConfig(0.0))
    assert result.params_after == result.params_before
    np.testing.assert_allclose(np.asarray(result.model(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-5)


def test_add_groups_share_one_keep_set_and_concat_offsets_follow():
    model = residual_concat_model()
    result = prune_filters(model, FilterPruneConfig(0.5))
    pruned = result.model
    x = np.random.default_rng(0).random((2, 12, 12, 3), dtype=np.float32)
    assert pruned(x).shape == (2, 5)
    assert result.params_after < 0.5 * result.params_before
    group = next(g for g in result.groups if "stem" in g.layers)
    assert set(group.layers) == {"stem", "branch_a", "branch_b"} and group.kept == 8
    # The three producers tied by the Adds keep exactly the same channel indices.
    stem = kept_columns(np.asarray(model.get_layer("stem").kernel), np.asarray(pruned.get_layer("stem").kernel))
    a = kept_columns(np.asarray(model.get_layer("branch_a").kernel), np.asarray(pruned.get_layer("branch_a").kernel),
                     np.array(stem))
    assert stem == a
    # Concatenate = 8 kept residual channels followed by the 4 kept separable ones.
    assert pruned.get_layer("mix").kernel.shape[-2] == 8 + 4
    assert pruned.get_layer("logits").kernel.shape == (6, 5)       # classifier outputs untouched


def test_pruning_dead_filters_keeps_outputs_through_flatten(trained_cnn, digits):
    """Half of conv2's filters are exactly dead: removing them must not change a single logit."""
    model = _with_dead_filters(trained_cnn)
    result = prune_filters(model, FilterPruneConfig(0.0, layer_ratios={"conv2": 0.5}))
    assert result.channels["conv2"] == (64, 32) and result.channels["conv1"] == (32, 32)
    x = digits[2][:64]
    np.testing.assert_allclose(np.asarray(result.model(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-4)


def _with_dead_filters(trained):
    model = copy_model(trained)
    conv2 = model.get_layer("conv2")
    kernel, bias = (np.asarray(w) for w in conv2.weights)
    kernel[..., 1::2] = 0.0
    bias[1::2] = 0.0
    conv2.set_weights([kernel, bias])
    return model


def test_digits_cnn_and_mobilenetv2_shrink_to_half(trained_cnn):
    import keras

    digits = prune_filters(trained_cnn, FilterPruneConfig(0.5))
    assert digits.params_after <= 0.55 * digits.params_before
    assert digits.channels["logits"] == (10, 10)
    mobilenet = keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3), classes=10)
    result = prune_filters(mobilenet, FilterPruneConfig(0.5, criterion="bn"))
    assert result.params_after <= 0.55 * result.params_before
    assert result.model(np.zeros((1, 96, 96, 3), np.float32)).shape == (1, 10)


@pytest.mark.parametrize("config, message", [
    (dict(ratio=1.0), "out of range"),
    (dict(ratio=-0.1), "out of range"),
    (dict(ratio=0.5, layer_ratios={"nope": 0.3}), "has no layer 'nope'"),
    (dict(ratio=0.5, layer_ratios={"logits": 0.3}), "feeds the model's output"),
    (dict(ratio=0.5, layer_ratios={"pool": 0.3}), "no filters or units"),
    (dict(ratio=0.5, criterion="random"), "criterion 'random' is unknown"),
])
def test_impossible_settings_fail_clearly(trained_cnn, config, message):
    with pytest.raises(UsageError, match=message):
        prune_filters(trained_cnn, FilterPruneConfig(**config))


def test_flags_build_filter_and_qat_steps():
    from edgekit.optimize.stages import steps_from_flags

    filters, qat = steps_from_flags({"--filters-layer-ratios": ("conv2=0.5",), "--filters-criterion": "bn",
                                     "--qat": True})
    assert filters.stage == "filters" and qat.stage == "qat"
    assert filters.config.ratio == 0.0 and filters.config.layer_ratios == {"conv2": 0.5}
    assert filters.config.criterion == "bn"
    assert steps_from_flags({"--filters-layer-ratios": (), "--qat": False}) == []
    with pytest.raises(UsageError, match="expected NAME=RATIO"):
        steps_from_flags({"--filters": 0.5, "--filters-layer-ratios": ("conv2:0.5",)})
    with pytest.raises(UsageError, match="out of range"):
        steps_from_flags({"--filters": 1.5})
