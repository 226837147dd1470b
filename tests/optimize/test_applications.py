"""Edge-sized keras.applications architectures through prune -> cluster -> full int8, and QAT -> int8.

Each is built with ``weights=None`` at a small input the way a user fine-tunes it (the
backbone nested in a functional model with their own head, or ``include_top=True`` with
their classes), trained one epoch on a tiny learnable task, and checked in the ``.tflite``
itself: every Conv/Depthwise/FullyConnected kernel kept its pruned zeros and at most 16
cluster values (+ zero) per output channel through BatchNorm folding and int8 quantization.

ConvNeXtTiny compresses like the others but cannot be *full* int8: the converter lowers
LayerNormalization with a NEG op that has no int8 kernel, which edgekit reports as one
NotFullIntegerError line; its compression is checked in the dynamic-range (int8 weights) file.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from edgekit.convert import convert_model
from edgekit.errors import NotFullIntegerError
from edgekit.inspect import inspect_model
from edgekit.optimize.clustering import cluster_weights, strip_clustering
from edgekit.optimize.graph import leaf_layers
from edgekit.optimize.layers import compressible_weights
from edgekit.optimize.pruning import ConstantSparsity, UpdatePruningStep, prune_low_magnitude, strip_pruning
from edgekit.optimize.qat import finish_qat, quantize_model

CLASSES, SAMPLES, SIZE = 4, 64, 32
KERNEL_OPS = {"CONV_2D:1", "DEPTHWISE_CONV_2D:1", "FULLY_CONNECTED:1"}


def _backbone_with_head(factory, **kwargs) -> keras.Model:
    """The usual fine-tuning model: a headless backbone called inside the user's functional model."""
    base = factory(input_shape=(SIZE, SIZE, 3), weights=None, include_top=False, pooling="avg", **kwargs)
    inp = keras.Input((SIZE, SIZE, 3), name="image")
    return keras.Model(inp, keras.layers.Dense(CLASSES, name="head")(base(inp)), name="finetune")


def _with_top(factory, **kwargs) -> keras.Model:
    return factory(input_shape=(SIZE, SIZE, 3), weights=None, include_top=True, classes=CLASSES,
                   classifier_activation=None, **kwargs)


A = keras.applications
ARCHITECTURES = {
    "MobileNet": lambda: _with_top(A.MobileNet),
    "MobileNetV2": lambda: _backbone_with_head(A.MobileNetV2),
    "MobileNetV3Small": lambda: _backbone_with_head(A.MobileNetV3Small, include_preprocessing=False),
    "MobileNetV3Large": lambda: _backbone_with_head(A.MobileNetV3Large, include_preprocessing=False),
    "EfficientNetB0": lambda: _backbone_with_head(A.EfficientNetB0),
    "EfficientNetV2B0": lambda: _backbone_with_head(A.EfficientNetV2B0, include_preprocessing=False),
    "NASNetMobile": lambda: _backbone_with_head(A.NASNetMobile),
    "DenseNet121": lambda: _backbone_with_head(A.DenseNet121),
    "ResNet50": lambda: _backbone_with_head(A.ResNet50),
    "ConvNeXtTiny": lambda: _backbone_with_head(A.ConvNeXtTiny, include_preprocessing=False),
}
NOT_FULL_INT8 = {"ConvNeXtTiny": "NEG"}  # architecture -> the op the converter leaves in float
# 4-25M parameters each: 2-17 min apiece on CI's 2 cores, the CI budget's largest share; the edge-sized
# ones above cover their building blocks (depthwise, squeeze-excite, residual adds, swish, hard-swish), so
# these run in the extended tier (scripts/test.sh extended) rather than on every change
EXTENDED = {"MobileNetV3Large", "EfficientNetV2B0", "NASNetMobile", "DenseNet121", "ResNet50", "ConvNeXtTiny"}


def _tiered(names) -> list:
    return [pytest.param(n, marks=pytest.mark.extended) if n in EXTENDED else n for n in names]
QAT_ARCHITECTURES = ("MobileNet", "MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50")


def _task(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random images labelled by their brightest quadrant: learnable, 4 classes."""
    rng = np.random.default_rng(seed)
    x = rng.random((SAMPLES, SIZE, SIZE, 3), dtype=np.float32)
    half = SIZE // 2
    quadrants = [x[:, :half, :half], x[:, :half, half:], x[:, half:, :half], x[:, half:, half:]]
    y = np.argmax([q.mean(axis=(1, 2, 3)) for q in quadrants], axis=0)
    return x, y


def _fit(model: keras.Model, x, y, callbacks=()) -> None:
    model.compile(keras.optimizers.Adam(1e-4), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)  # two steps: tracing a graph would cost more than it saves
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=list(callbacks))


def _kernels_in_file(flatbuffer: bytes) -> list:
    report = inspect_model(flatbuffer)
    return [w for w in report.weights if w.is_kernel and KERNEL_OPS & set(w.used_by)]


@pytest.mark.slow
@pytest.mark.parametrize("name", _tiered(ARCHITECTURES))
def test_prune_cluster_full_int8_keeps_zeros_and_clusters_in_the_tflite(name):
    keras.utils.set_random_seed(0)
    model = ARCHITECTURES[name]()
    x, y = _task()
    compressible = sum(len(compressible_weights(layer)) for layer in leaf_layers(model))

    pruned = prune_low_magnitude(model, ConstantSparsity(0.5, begin_step=0, frequency=1))
    _fit(pruned, x, y, [UpdatePruningStep()])
    clustered = cluster_weights(strip_pruning(pruned), 16, preserve_sparsity=True)
    _fit(clustered, x, y)
    final = strip_clustering(clustered)

    if name in NOT_FULL_INT8:
        with pytest.raises(NotFullIntegerError, match=f"left op\\(s\\) {NOT_FULL_INT8[name]} in float"):
            convert_model(final, quantize="int8", representative=x[:16])
        flatbuffer = convert_model(final, quantize="dynamic")
    else:
        flatbuffer = convert_model(final, quantize="int8", representative=x[:16])
    kernels = _kernels_in_file(flatbuffer)
    assert len(kernels) >= compressible, f"{len(kernels)} kernels in the file, {compressible} compressed"
    for weight in kernels:
        assert weight.zero_fraction >= 0.45, (weight.name, weight.zero_fraction)
        assert weight.unique_per_channel_max <= 17, (weight.name, weight.unique_per_channel_max)


@pytest.mark.slow
@pytest.mark.parametrize("name", _tiered(QAT_ARCHITECTURES))
def test_qat_int8_file_computes_what_the_qat_model_computes(name):
    from edgekit.convert.selective import predict

    keras.utils.set_random_seed(0)
    model = ARCHITECTURES[name]()
    x, y = _task()
    qat = quantize_model(model)
    _fit(qat, x, y)
    result = finish_qat(qat, x[:32])
    flatbuffer = convert_model(result.model, quantize="int8", representative=result.calibration)
    expected = np.asarray(result.qat_model.predict(x[32:], verbose=0))
    got = np.asarray(predict(flatbuffer, x[32:]))
    spread = float(expected.max() - expected.min())
    assert np.abs(got - expected).mean() <= 0.05 * spread, (np.abs(got - expected).mean(), spread)
    assert np.mean(got.argmax(1) == expected.argmax(1)) >= 0.75
