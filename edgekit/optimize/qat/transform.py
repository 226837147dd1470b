"""Turn a float model into a QAT model and back into a plain float model on the int8 grid.

Quantization points follow the TFLite converter: every model input, and the output of
every op the converter keeps as its own kernel -- after fusing a Conv/Dense/Add with the
ReLU/ReLU6 that is its only consumer, and after folding BatchNorm (see ``fold.py``).
Layers that only move data (Flatten, Reshape, MaxPool, Dropout, padding) reuse their
input's scale in TFLite, so they get no quantizer of their own.
"""

from __future__ import annotations

import numpy as np

from edgekit.optimize.graph import LayerGraph, clone_graph, layer_graph
from edgekit.optimize.qat.fold import fold_batchnorm
from edgekit.optimize.qat.layers import KERNEL_LAYERS, ActivationQuantizer, QuantizeWrapper, kernel_kind
from edgekit.optimize.qat.separable import split_separable
from edgekit.optimize.rewrite import fresh_copy
from edgekit.optimize.tfmot_names import accepts_tfmot_names

SAME_SCALE = frozenset({
    "Flatten", "Reshape", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalMaxPooling3D", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "Cropping1D", "Cropping2D", "Cropping3D", "Identity", "UpSampling1D", "UpSampling2D", "UpSampling3D",
})
FUSES_ACTIVATION = frozenset(KERNEL_LAYERS) | {"Add"}
QUANT_SUFFIX = "_quant"
# TFLite's int8 SOFTMAX always outputs scale 1/256, zero point -128: the range [0, 255/256].
SOFTMAX_RANGE = (0.0, 255.0 / 256.0)


def _fused_activation(layer) -> bool:
    """True for a ReLU/ReLU6 the converter fuses into the op before it."""
    kind = type(layer).__name__
    config = layer.get_config()
    if kind == "ReLU":
        return config.get("max_value") in (None, 6.0) and not config.get("negative_slope") and not config.get("threshold")
    return kind == "Activation" and config.get("activation") in ("relu", "relu6")


def quantization_points(graph: LayerGraph) -> set[str]:
    """Names of the layers whose output the converter quantizes."""
    points = set()
    for call in graph.calls:
        kind = kernel_kind(call.layer) or type(call.layer).__name__
        if kind in SAME_SCALE:
            continue
        consumers = graph.consumers(call.outputs[0])
        fused_into_next = (kind in FUSES_ACTIVATION and call.layer.get_config().get("activation", "linear") == "linear"
                           and call.outputs[0] not in graph.outputs and len(consumers) == 1
                           and _fused_activation(consumers[0].layer))
        if not fused_into_next:
            points.add(call.layer.name)
    return points


@accepts_tfmot_names
def quantize_model(model, *, preserve_clusters: int | None = None, ema_decay: float = 0.99):
    """A trainable QAT model: SeparableConv2D split in two, BatchNorm folded, kernels wrapped,
    activation quantizers inserted. The result is flat (nested models inlined); a model with a
    shared layer (one layer called twice) gets an OptimizationError naming it.

    Exact zeros in a kernel are kept at zero. ``preserve_clusters=N`` keeps every
    output channel of a kernel that has at most N distinct values on those values.
    """
    import keras

    folded = fold_batchnorm(split_separable(model))
    graph = layer_graph(folded)
    points = quantization_points(graph)
    input_quant: dict[int, object] = {}

    def clone(layer):
        copy = fresh_copy(layer)
        kind = kernel_kind(layer)
        if kind is None:
            return copy
        kernel = np.asarray(layer.kernel)
        channel_axes = 2 if kind.startswith("Depthwise") else 1
        indices = cluster_indices(kernel, channel_axes, preserve_clusters) if preserve_clusters else None
        return QuantizeWrapper(copy, mask=(kernel != 0), cluster_indices=indices)

    def quantize_input(tensor):
        if not isinstance(tensor._keras_history.operation, keras.layers.InputLayer):
            return tensor
        if id(tensor) not in input_quant:
            name = tensor._keras_history.operation.name + QUANT_SUFFIX
            input_quant[id(tensor)] = ActivationQuantizer(ema_decay, name=name)(tensor)
        return input_quant[id(tensor)]

    def call(layer, *args, **kwargs):
        args = keras.tree.map_structure(
            lambda t: quantize_input(t) if isinstance(t, keras.KerasTensor) else t, args)
        out = layer(*args, **kwargs)
        if layer.name in points:
            out = ActivationQuantizer(ema_decay, name=layer.name + QUANT_SUFFIX)(out)
        return out

    qat = clone_graph(folded, clone, call)
    for layer in folded.layers:
        if layer.weights:
            target = qat.get_layer(layer.name)
            (target.layer if isinstance(target, QuantizeWrapper) else target).set_weights(layer.get_weights())
    return qat


def cluster_indices(kernel: np.ndarray, channel_axes: int, max_clusters: int) -> np.ndarray | None:
    """Per output channel, the index of each weight's distinct value -- or None if not clustered."""
    flat = kernel.reshape(-1, int(np.prod(kernel.shape[-channel_axes:])))
    indices = np.empty(flat.shape, dtype=np.int32)
    for c in range(flat.shape[1]):
        values, inverse = np.unique(flat[:, c], return_inverse=True)
        if len(values) > max_clusters:
            return None
        indices[:, c] = inverse
    return indices.reshape(kernel.shape)


def strip_qat(qat_model):
    """The deployable float model: QAT wrappers and quantizers removed, kernels on the int8 grid."""
    return _strip(qat_model)[0]


def _strip(qat_model) -> tuple:
    """``strip_qat``'s model, and per activation quantizer the plain model's tensor it observed."""
    sources = {}

    def clone(layer):
        inner = layer.layer if isinstance(layer, QuantizeWrapper) else layer
        return fresh_copy(inner)

    def call(layer, *args, **kwargs):
        if isinstance(layer, ActivationQuantizer):
            sources[layer.name] = args[0]
            return args[0]
        return layer(*args, **kwargs)

    plain = clone_graph(qat_model, clone, call)
    for layer in qat_model.layers:
        if isinstance(layer, QuantizeWrapper):
            values = [np.asarray(layer.quantized_kernel())]
            if layer.layer.use_bias:
                values.append(np.asarray(layer.layer.bias))
            plain.get_layer(layer.name).set_weights(values)
        elif layer.weights and not isinstance(layer, ActivationQuantizer):
            plain.get_layer(layer.name).set_weights(layer.get_weights())
    return plain, sources


def quantizers(qat_model) -> list[ActivationQuantizer]:
    return [layer for layer in qat_model.layers if isinstance(layer, ActivationQuantizer)]


def calibrate_ranges(qat_model, x: np.ndarray | list[np.ndarray], batch_size: int = 256) -> None:
    """Set every activation range to the min/max the converter will measure on ``x``.

    The converter calibrates the stripped float model with the representative data and
    takes the global min/max of each tensor; giving the QAT model exactly those ranges
    makes the QAT model and the int8 ``.tflite`` compute the same thing.
    """
    import keras

    plain, sources = _strip(qat_model)
    observers = quantizers(qat_model)
    probe = keras.Model(plain.inputs, [sources[q.name] for q in observers])
    low = np.full(len(observers), np.inf)
    high = np.full(len(observers), -np.inf)
    arrays = x if isinstance(x, list) else [x]
    for start in range(0, len(arrays[0]), batch_size):
        outputs = probe([a[start:start + batch_size] for a in arrays], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for i, value in enumerate(outputs):
            value = np.asarray(value)
            low[i] = min(low[i], float(value.min()))
            high[i] = max(high[i], float(value.max()))
    for quantizer, lo, hi in zip(observers, low, high):
        if _is_softmax(sources[quantizer.name]._keras_history.operation):
            lo, hi = SOFTMAX_RANGE
        quantizer.set_range(lo, hi)
    _tie_concat_inputs(qat_model)


def _is_softmax(layer) -> bool:
    config = layer.get_config()
    return type(layer).__name__ == "Softmax" or config.get("activation") == "softmax"


def _tie_concat_inputs(qat_model) -> None:
    """TFLite's int8 CONCATENATION has one scale for inputs and output: the output's range.

    The converter requantizes each input to it, so the QAT model must round them there too.
    """
    graph = layer_graph(qat_model)
    for call in graph.calls:
        if type(call.layer).__name__ != "Concatenate":
            continue
        consumers = graph.consumers(call.outputs[0])
        if len(consumers) != 1 or not isinstance(consumers[0].layer, ActivationQuantizer):
            continue
        shared = consumers[0].layer
        for tensor in call.inputs:
            producer = graph.producer(tensor)
            if producer is not None and isinstance(producer.layer, ActivationQuantizer):
                producer.layer.set_range(float(shared.range_min), float(shared.range_max))

