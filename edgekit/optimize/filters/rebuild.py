"""Rebuild a narrower copy of a model and copy the surviving slices of every weight."""

from __future__ import annotations

import numpy as np

from edgekit.errors import OptimizationError
from edgekit.optimize.filters.channels import DEPTHWISE, ChannelPlan
from edgekit.optimize.graph import LayerGraph, clone_graph
from edgekit.optimize.rewrite import fresh_copy

# Weights whose last axis is the layer's output channels (BatchNorm's are its input's).
_PER_CHANNEL = frozenset({"bias", "gamma", "beta", "moving_mean", "moving_variance"})


def rebuild(model, graph: LayerGraph, plan: ChannelPlan, keep: np.ndarray):
    """A flat functional copy with the kept channels only, weights copied over."""
    widths = {name: int(keep[ids].sum()) for name, ids in plan.producer_ids.items()}

    def clone(layer):
        if layer.name not in widths:
            return fresh_copy(layer)
        return fresh_copy(layer, **{"units" if "units" in layer.get_config() else "filters": widths[layer.name]})

    try:
        pruned = clone_graph(model, clone)
    except (ValueError, TypeError) as exc:
        raise OptimizationError(f"could not rebuild model '{model.name}' with fewer channels: {exc}") from exc
    for call in graph.calls:
        if not getattr(call.layer, "weights", None):  # raw ops and weightless layers
            continue
        in_mask = keep[plan.tensor_channels[call.inputs[0]]] if len(call.inputs) == 1 else None
        out_mask = keep[plan.tensor_channels[call.outputs[0]]]
        new_layer = pruned.get_layer(call.layer.name)
        values = [_slice(v.name, np.asarray(v), in_mask, out_mask, call.layer) for v in call.layer.weights]
        for variable, value in zip(new_layer.weights, values):
            if tuple(variable.shape) != value.shape:
                raise OptimizationError(
                    f"layer '{call.layer.name}' weight '{variable.name}': rebuilt shape "
                    f"{tuple(variable.shape)} does not match the kept slice {value.shape}"
                )
            variable.assign(value)
    return pruned


def _slice(name: str, value: np.ndarray, in_mask, out_mask, layer) -> np.ndarray:
    """Keep the rows/columns of one weight that belong to surviving channels."""
    if (in_mask is None or in_mask.all()) and out_mask.all():
        return value
    depthwise = type(layer).__name__ in DEPTHWISE  # Keras names its (kh, kw, in, mult) weight "kernel"
    if name == "kernel" and not depthwise:
        return value.compress(in_mask, axis=-2).compress(out_mask, axis=-1)
    if name in ("kernel", "depthwise_kernel"):
        return value.compress(in_mask, axis=-2)
    if name == "pointwise_kernel":
        middle = np.repeat(in_mask, layer.depth_multiplier)
        return value.compress(middle, axis=-2).compress(out_mask, axis=-1)
    if name in _PER_CHANNEL and value.ndim == 1 and value.shape[0] == out_mask.shape[0]:
        return value.compress(out_mask)
    return value
