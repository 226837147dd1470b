"""QAT: the converted int8 model computes what the QAT model computed; pruning and clusters survive."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.convert import selective
from edgekit.optimize.qat import QATConfig, quantization_aware_training
from edgekit.optimize.qat.fold import fold_batchnorm
from helpers.qat_support import copy_model, int8_tflite


@pytest.mark.slow
def test_qat_model_and_int8_tflite_agree(trained_cnn, digits):
    x, y, xv, yv = digits
    result = quantization_aware_training(copy_model(trained_cnn), QATConfig(), x, y, epochs=2)
    qat_logits = np.asarray(result.qat_model.predict(xv, verbose=0))
    int8_logits = selective.predict(int8_tflite(result.model, result.calibration), xv)
    agree = (qat_logits.argmax(1) == int8_logits.argmax(1)).mean()
    qat_acc, int8_acc = (qat_logits.argmax(1) == yv).mean(), (int8_logits.argmax(1) == yv).mean()
    assert agree >= 0.99, f"predictions agree on {agree:.2%}"
    assert abs(qat_acc - int8_acc) <= 0.005
    # The stripped kernels already sit on TFLite's per-channel int8 grid.
    kernel = np.asarray(result.model.get_layer("conv2").kernel).reshape(-1, 64)
    steps = kernel / (np.abs(kernel).max(axis=0) / 127.0)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)


def magnitude_prune(model, sparsity: float):
    """Zero the smallest ``sparsity`` of every kernel (what the pruning stage leaves behind)."""
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            kernel, bias = (np.asarray(w) for w in layer.weights)
            kernel[np.abs(kernel) < np.quantile(np.abs(kernel), sparsity)] = 0.0
            layer.set_weights([kernel, bias])
    return model


def int8_weights(tflite: bytes) -> list[np.ndarray]:
    """The int8 kernels (>= 2 dims) of a ``.tflite``, read with edgekit's own flatbuffer reader."""
    from edgekit.inspect import read_tflite

    return [t.data for t in read_tflite(tflite).subgraphs[0].tensors
            if t.data is not None and t.dtype == "int8" and len(t.shape) >= 2]


def test_qat_after_80_percent_pruning_keeps_the_zeros(trained_cnn, digits):
    x, y, _, _ = digits
    pruned = magnitude_prune(copy_model(trained_cnn), 0.8)
    result = quantization_aware_training(pruned, QATConfig(), x, y, epochs=1)
    weights = int8_weights(int8_tflite(result.model, result.calibration))
    assert len(weights) == 4
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.size for w in weights)
    assert zeros >= 0.79, f"only {zeros:.1%} zeros in the int8 weights"


def test_qat_keeps_clustered_channels_on_their_values(trained_cnn, digits):
    x, y, _, _ = digits
    model = copy_model(trained_cnn)
    for name in ("conv2", "fc1"):
        layer = model.get_layer(name)
        kernel, bias = (np.asarray(w) for w in layer.weights)
        levels = np.linspace(kernel.min(axis=tuple(range(kernel.ndim - 1))),
                             kernel.max(axis=tuple(range(kernel.ndim - 1))), 8)        # (8, channels)
        nearest = np.abs(kernel[..., None, :] - levels).argmin(axis=-2)
        layer.set_weights([np.take_along_axis(levels, nearest.reshape(-1, kernel.shape[-1]), 0)
                           .reshape(kernel.shape), bias])
    result = quantization_aware_training(model, QATConfig(preserve_clusters=8), x, y, epochs=1)
    for name in ("conv2", "fc1"):
        kernel = np.asarray(result.model.get_layer(name).kernel)
        flat = kernel.reshape(-1, kernel.shape[-1])
        assert max(len(np.unique(flat[:, c])) for c in range(flat.shape[1])) <= 8
        before = np.asarray(model.get_layer(name).kernel)
        assert not np.allclose(kernel, before), "centroids should have been trained"


def test_batchnorm_folding_keeps_the_function():
    import keras
    from keras import layers

    inp = keras.Input((8, 8, 2))
    x = layers.Conv2D(6, 3, use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.DepthwiseConv2D(3)(x)
    x = layers.BatchNormalization()(x)
    model = keras.Model(inp, layers.Dense(3)(layers.Flatten()(x)))
    for bn in [l for l in model.layers if isinstance(l, layers.BatchNormalization)]:
        n = bn.gamma.shape[0]
        bn.set_weights([np.linspace(0.5, 2, n), np.linspace(-1, 1, n), np.linspace(-0.3, 0.3, n), np.linspace(0.2, 3, n)])
    folded = fold_batchnorm(model)
    assert not any(isinstance(l, layers.BatchNormalization) for l in folded.layers)
    data = np.random.default_rng(0).random((4, 8, 8, 2), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(folded(data)), np.asarray(model(data)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    (dict(preserve_clusters=0), "preserve_clusters"),
    (dict(ema_decay=1.5), "ema_decay"),
])
def test_bad_qat_settings_fail_clearly(kwargs, message):
    with pytest.raises(UsageError, match=message):
        QATConfig(**kwargs)


@pytest.mark.slow
def test_qat_agreement_through_add_and_concat(digits):
    """Residual Add, Concatenate (one shared int8 scale), depthwise, ReLU6, BatchNorm, GAP."""
    import keras
    from keras import layers

    from edgekit.models import compile_classifier

    x, y, xv, yv = digits
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1), name="image")
    h = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)))
    r = layers.ReLU(6.0)(layers.DepthwiseConv2D(3, padding="same")(h))
    h = layers.Add()([h, layers.Conv2D(16, 1)(r)])
    h = layers.Concatenate()([h, layers.Conv2D(8, 1, activation="relu")(h)])
    h = layers.Conv2D(32, 3, strides=2, activation="relu")(h)
    model = compile_classifier(keras.Model(inp, layers.Dense(10)(layers.Flatten()(h))))
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    result = quantization_aware_training(model, QATConfig(), x, y, epochs=2)
    qat_logits = np.asarray(result.qat_model.predict(xv, verbose=0))
    int8_logits = selective.predict(int8_tflite(result.model, result.calibration), xv)
    agree = (qat_logits.argmax(1) == int8_logits.argmax(1)).mean()
    assert agree >= 0.98, f"predictions agree on {agree:.2%}"
    assert abs((qat_logits.argmax(1) == yv).mean() - (int8_logits.argmax(1) == yv).mean()) <= 0.01


def test_qat_model_saves_and_loads(tmp_path):
    import keras

    from edgekit.models import digits_cnn
    from edgekit.optimize.qat import quantize_model

    model = digits_cnn()
    kernel = np.round(np.asarray(model.get_layer("fc1").kernel) * 20) / 20       # 3 values per channel
    model.get_layer("fc1").set_weights([kernel, np.zeros(128, np.float32)])
    qat = quantize_model(model, preserve_clusters=4)
    path = tmp_path / "qat.keras"
    qat.save(path)
    data = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(keras.saving.load_model(path)(data)), np.asarray(qat(data)))


@pytest.mark.slow
def test_separable_conv_is_split_and_both_kernels_are_fake_quantized(digits):
    """SeparableConv2D (+ BatchNorm) becomes the DEPTHWISE + 1x1 CONV pair TFLite runs, each kernel on the int8 grid."""
    import keras
    from keras import layers

    from edgekit.models import compile_classifier
    from edgekit.optimize.qat.separable import split_separable

    x, y, xv, yv = digits
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1), name="image")
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    h = layers.ReLU()(layers.BatchNormalization()(layers.SeparableConv2D(16, 3, strides=2, padding="same",
                                                                         depth_multiplier=2, name="sep")(h)))
    model = compile_classifier(keras.Model(inp, layers.Dense(10)(layers.Flatten()(h))))
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    split = split_separable(model)
    np.testing.assert_allclose(np.asarray(split(xv[:32])), np.asarray(model(xv[:32])), atol=1e-4)
    result = quantization_aware_training(model, QATConfig(), x, y, epochs=2)
    kinds = {layer.name: type(layer).__name__ for layer in result.model.layers}
    assert "sep" not in kinds and kinds["sep_depthwise"] == "DepthwiseConv2D" and kinds["sep_pointwise"] == "Conv2D"
    for name, channel_axes in (("sep_depthwise", 2), ("sep_pointwise", 1)):
        kernel = np.asarray(result.model.get_layer(name).kernel)
        per_channel = kernel.reshape(-1, int(np.prod(kernel.shape[-channel_axes:])))
        steps = per_channel / (np.abs(per_channel).max(axis=0) / 127.0)
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
    qat_logits = np.asarray(result.qat_model.predict(xv, verbose=0))
    int8_logits = selective.predict(int8_tflite(result.model, result.calibration), xv)
    assert (qat_logits.argmax(1) == int8_logits.argmax(1)).mean() >= 0.98
    assert abs((qat_logits.argmax(1) == yv).mean() - (int8_logits.argmax(1) == yv).mean()) <= 0.01
