"""Fold BatchNormalization into the Conv/Dense before it, as the TFLite converter does.

The converter quantizes the *folded* kernel ``w * gamma / sqrt(var + eps)`` per channel,
so QAT must train (and round) exactly that kernel; folding first makes the QAT model's
weights the ones that will be deployed. Zeros stay zeros (scaling is per output channel)
and a clustered channel keeps its number of distinct values.
"""

from __future__ import annotations

import numpy as np

from edgekit.optimize.graph import LayerGraph, clone_graph, layer_graph, leaf_layers
from edgekit.optimize.qat.layers import kernel_kind
from edgekit.optimize.rewrite import fresh_copy


def foldable_pairs(graph: LayerGraph) -> dict[str, str]:
    """``{kernel layer: batchnorm}`` for every BN that is the only consumer of a linear Conv/Dense."""
    import keras

    pairs = {}
    for call in graph.calls:
        layer = call.layer
        if kernel_kind(layer) is None or layer.get_config().get("activation") != "linear":
            continue
        consumers = graph.consumers(call.outputs[0])
        if call.outputs[0] in graph.outputs or len(consumers) != 1:
            continue
        bn = consumers[0].layer
        if isinstance(bn, keras.layers.BatchNormalization) and bn.axis in (-1, len(call.output_shapes[0]) - 1):
            pairs[layer.name] = bn.name
    return pairs


def fold_batchnorm(model):
    """A flat Functional copy of ``model`` with every foldable BatchNorm merged into its Conv/Dense."""
    graph = layer_graph(model)
    pairs = foldable_pairs(graph)
    folded_bns = set(pairs.values())

    def clone(layer):
        return fresh_copy(layer, use_bias=True) if layer.name in pairs else fresh_copy(layer)

    def call(layer, *args, **kwargs):
        return args[0] if layer.name in folded_bns else layer(*args, **kwargs)

    folded = clone_graph(model, clone, call)
    layers = {layer.name: layer for layer in leaf_layers(model)}
    for layer in layers.values():
        if layer.name in folded_bns or not layer.weights:
            continue
        if layer.name in pairs:
            values = _folded_weights(layer, layers[pairs[layer.name]])
        else:
            values = layer.get_weights()
        folded.get_layer(layer.name).set_weights(values)
    return folded


def _folded_weights(layer, bn) -> list[np.ndarray]:
    kernel = np.asarray(layer.kernel)
    channels = kernel.shape[-2:] if kernel_kind(layer).startswith("Depthwise") else kernel.shape[-1:]
    bias = np.asarray(layer.bias) if layer.use_bias else np.zeros(int(np.prod(channels)), np.float32)
    gamma = np.asarray(bn.gamma) if bn.gamma is not None else 1.0
    beta = np.asarray(bn.beta) if bn.beta is not None else 0.0
    scale = gamma / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    shift = beta - np.asarray(bn.moving_mean) * scale
    return [(kernel * scale.reshape(channels)).astype(np.float32), (bias * scale + shift).astype(np.float32)]
