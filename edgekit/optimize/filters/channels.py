"""Channel bookkeeping: which output channels of which layers must be pruned together.

Every channel a prunable layer (Conv, SeparableConv, Dense) produces gets a global id.
The ids are propagated along the graph as the list of channels on each tensor's last
axis: pass-through layers (BatchNorm, activations, pooling, depthwise convs) forward it,
Concatenate joins lists, Flatten tiles it per spatial position. Element-wise merges (Add,
Multiply, ...) tie position ``i`` of every input together, so those channels can only be
removed as one unit: a union-find over channel ids turns that into equivalence classes.
Channels that reach a model output, come from a model input, or meet a layer edgekit
does not know how to slice are *fixed* and their whole group is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgekit.optimize.graph import LayerCall, LayerGraph, is_layer

# Layers whose output carries the input's channels unchanged (same last axis).
PASS_THROUGH = frozenset({
    "Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D",
    "UpSampling2D", "UpSampling3D", "Identity", "BatchNormalization",
})
DEPTHWISE = frozenset({"DepthwiseConv1D", "DepthwiseConv2D"})
PRODUCERS = frozenset({"Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "Dense"})
ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})


@dataclass
class ChannelPlan:
    """The result of tracing: channel ids per tensor, the producers' id ranges, fixed ids."""

    tensor_channels: dict[int, np.ndarray] = field(default_factory=dict)
    producer_ids: dict[str, np.ndarray] = field(default_factory=dict)
    parent: list[int] = field(default_factory=list)
    fixed: set[int] = field(default_factory=set)

    def new_ids(self, count: int) -> np.ndarray:
        start = len(self.parent)
        self.parent.extend(range(start, start + count))
        return np.arange(start, start + count)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def fix(self, ids: np.ndarray) -> None:
        self.fixed.update(int(i) for i in ids)

    def fixed_roots(self) -> set[int]:
        return {self.find(i) for i in self.fixed}


def _channels_last(layer) -> bool:
    return layer.get_config().get("data_format", "channels_last") in ("channels_last", None)


def _last_axis(layer, rank: int) -> bool:
    axis = layer.get_config().get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    return axis in (-1, rank - 1)


def _is_producer(layer) -> bool:
    kind = type(layer).__name__
    return kind in PRODUCERS and _channels_last(layer) and layer.get_config().get("groups", 1) == 1


def trace_channels(graph: LayerGraph) -> ChannelPlan:
    """Propagate channel ids through ``graph`` and record what must stay or go together."""
    plan = ChannelPlan()
    for tensor, shape in zip(graph.inputs, graph.input_shapes):
        ids = plan.new_ids(int(shape[-1]))
        plan.fix(ids)
        plan.tensor_channels[tensor] = ids
    for call in graph.calls:
        _trace_call(plan, call)
    for tensor in graph.outputs:
        plan.fix(plan.tensor_channels[tensor])  # never prune what the model returns
    return plan


def _trace_call(plan: ChannelPlan, call: LayerCall) -> None:
    layer, kind = call.layer, type(call.layer).__name__
    ins = [plan.tensor_channels[t] for t in call.inputs]
    if not is_layer(layer) and kind not in ELEMENTWISE:  # raw ops (keras.ops.*) but x + y, x * y
        _keep_whole(plan, call, ins)
    elif _is_producer(layer):
        ids = plan.new_ids(int(call.output_shapes[0][-1]))
        plan.producer_ids[layer.name] = ids
        plan.tensor_channels[call.outputs[0]] = ids
    elif kind in PASS_THROUGH and len(ins) == 1 and _channels_last(layer) and (
            kind != "BatchNormalization" or _last_axis(layer, len(call.input_shapes[0]))):
        plan.tensor_channels[call.outputs[0]] = ins[0]
    elif kind in DEPTHWISE and len(ins) == 1 and _channels_last(layer):
        plan.tensor_channels[call.outputs[0]] = np.repeat(ins[0], layer.depth_multiplier)
    elif kind == "Flatten" and _channels_last(layer):
        spatial = int(np.prod(call.input_shapes[0][1:-1], dtype=np.int64))
        plan.tensor_channels[call.outputs[0]] = np.tile(ins[0], spatial)
    elif kind == "Concatenate" and _last_axis(layer, len(call.output_shapes[0])):
        plan.tensor_channels[call.outputs[0]] = np.concatenate(ins)
    elif kind in ELEMENTWISE or kind == "Concatenate":
        plan.tensor_channels[call.outputs[0]] = _tie(plan, ins, int(call.output_shapes[0][-1]))
    else:
        _keep_whole(plan, call, ins)


def _keep_whole(plan: ChannelPlan, call: LayerCall, ins: list[np.ndarray]) -> None:
    """An unknown layer or op: its inputs and outputs keep every channel."""
    for ids in ins:
        plan.fix(ids)
    for tensor, shape in zip(call.outputs, call.output_shapes):
        ids = plan.new_ids(int(shape[-1]) if shape else 1)
        plan.fix(ids)
        plan.tensor_channels[tensor] = ids


def _tie(plan: ChannelPlan, ins: list[np.ndarray], width: int) -> np.ndarray:
    """Element-wise merge: position i of every full-width input is one channel."""
    full = [ids for ids in ins if len(ids) == width]
    for ids in ins:
        if len(ids) != width:  # broadcast operand (e.g. a (1,) scale): keep it whole
            plan.fix(ids)
    for other in full[1:]:
        for a, b in zip(full[0], other):
            plan.union(int(a), int(b))
    return full[0]
