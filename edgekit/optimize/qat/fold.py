"""Fold BatchNormalization into the Conv/Dense before it, as the TFLite converter does.

The converter quantizes the *folded* kernel ``w * gamma / sqrt(var + eps)`` per channel,
so QAT must train (and round) exactly that kernel; folding first makes the QAT model's
weights the ones that will be deployed. Zeros stay zeros (scaling is per output channel)
and a clustered channel keeps its number of distinct values.
"""

from __future__ import annotations

import numpy as np

from edgekit.optimize.graph import LayerGraph, as_functional, layer_graph
from edgekit.optimize.qat.layers import KERNEL_LAYERS


def foldable_pairs(graph: LayerGraph) -> dict[str, str]:
    """``{kernel layer: batchnorm}`` for every BN that is the only consumer of a linear Conv/Dense."""
    pairs = {}
    for call in graph.calls:
        layer = call.layer
        if type(layer).__name__ not in KERNEL_LAYERS or layer.get_config().get("activation") != "linear":
            continue
        consumers = graph.consumers(call.outputs[0])
        if call.outputs[0] in graph.outputs or len(consumers) != 1:
            continue
        bn = consumers[0].layer
        if type(bn).__name__ == "BatchNormalization" and bn.axis in (-1, len(call.output_shapes[0]) - 1):
            pairs[layer.name] = bn.name
    return pairs


def fold_batchnorm(model):
    """A Functional copy of ``model`` with every foldable BatchNorm merged into its Conv/Dense."""
    import keras

    functional = as_functional(model)
    graph = layer_graph(functional)
    pairs = foldable_pairs(graph)
    folded_bns = set(pairs.values())

    def clone(layer):
        config = layer.get_config()
        if layer.name in pairs:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    def call(layer, *args, **kwargs):
        return args[0] if layer.name in folded_bns else layer(*args, **kwargs)

    folded = keras.models.clone_model(functional, clone_function=clone, call_function=call)
    for layer in functional.layers:
        if layer.name in folded_bns or not layer.weights:
            continue
        if layer.name in pairs:
            values = _folded_weights(layer, functional.get_layer(pairs[layer.name]))
        else:
            values = layer.get_weights()
        folded.get_layer(layer.name).set_weights(values)
    return folded


def _folded_weights(layer, bn) -> list[np.ndarray]:
    kernel = np.asarray(layer.kernel)
    channels = kernel.shape[-2:] if type(layer).__name__.startswith("Depthwise") else kernel.shape[-1:]
    bias = np.asarray(layer.bias) if layer.use_bias else np.zeros(int(np.prod(channels)), np.float32)
    gamma = np.asarray(bn.gamma) if bn.gamma is not None else 1.0
    beta = np.asarray(bn.beta) if bn.beta is not None else 0.0
    scale = gamma / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    shift = beta - np.asarray(bn.moving_mean) * scale
    return [(kernel * scale.reshape(channels)).astype(np.float32), (bias * scale + shift).astype(np.float32)]
