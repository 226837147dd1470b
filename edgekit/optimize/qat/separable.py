"""SeparableConv2D as the two ops TFLite runs: a DepthwiseConv2D, then a 1x1 Conv2D.

The converter lowers a SeparableConv2D to DEPTHWISE_CONV_2D + CONV_2D and quantizes the
tensor between them, each kernel per channel. Splitting the layer the same way before QAT
lets both kernels be fake-quantized and the tensor between them get its own range, like
any other kernel layer; the stripped model then holds the two layers, which convert to the
same two TFLite ops.
"""

from __future__ import annotations

import numpy as np

from edgekit.optimize.graph import clone_graph, flatten, leaf_layers
from edgekit.optimize.rewrite import fresh_copy

DEPTHWISE_SUFFIX, POINTWISE_SUFFIX = "_depthwise", "_pointwise"


def split_separable(model):
    """A flat Functional copy of ``model`` with every SeparableConv2D split in two (names ``*_depthwise``,
    ``*_pointwise``); a flat view of the model itself when it has none."""
    import keras

    layers = leaf_layers(model)
    separable = {layer.name for layer in layers  # a subclass with its own call() computes something else
                 if isinstance(layer, keras.layers.SeparableConv2D) and type(layer).call is keras.layers.SeparableConv2D.call}
    if not separable:
        return flatten(model)
    parts: dict[str, tuple] = {}

    def clone(layer):
        if layer.name in separable:
            parts[layer.name] = _parts(layer.get_config())
        return fresh_copy(layer)

    def call(layer, *args, **kwargs):
        if layer.name in parts:
            depthwise, pointwise = parts[layer.name]
            return pointwise(depthwise(*args, **kwargs))
        return layer(*args, **kwargs)

    split = clone_graph(model, clone, call)
    for layer in layers:
        if layer.name in separable:
            depthwise, pointwise = parts[layer.name]
            depthwise.set_weights([np.asarray(layer.depthwise_kernel)])
            pointwise.set_weights([np.asarray(layer.pointwise_kernel)]
                                  + ([np.asarray(layer.bias)] if layer.use_bias else []))
        elif layer.weights:
            split.get_layer(layer.name).set_weights(layer.get_weights())
    return split


def _parts(config: dict) -> tuple:
    """The DepthwiseConv2D (strides, dilation, no bias) and 1x1 Conv2D (bias, activation) of one layer."""
    import keras

    depthwise = keras.layers.DepthwiseConv2D(
        config["kernel_size"], strides=config["strides"], padding=config["padding"],
        depth_multiplier=config["depth_multiplier"], data_format=config["data_format"],
        dilation_rate=config["dilation_rate"], use_bias=False, name=config["name"] + DEPTHWISE_SUFFIX)
    pointwise = keras.layers.Conv2D(config["filters"], 1, use_bias=config["use_bias"], activation=config["activation"],
                                    data_format=config["data_format"], name=config["name"] + POINTWISE_SUFFIX)
    return depthwise, pointwise
