"""A flat, topologically ordered view of a Keras 3 model's layer graph.

Filter pruning, BatchNorm folding and QAT all need the same thing: for every layer call,
which tensors go in and which come out. Sequential and Functional models are supported;
subclassed models have no inspectable graph and shared layers (one layer called twice)
would need per-call weights, so both are refused with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edgekit.errors import OptimizationError

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer in the graph; tensors are identified by ``id()`` of their KerasTensor."""

    layer: Any
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    input_shapes: tuple[tuple, ...]
    output_shapes: tuple[tuple, ...]


@dataclass(frozen=True)
class LayerGraph:
    calls: tuple[LayerCall, ...]          # topological order, InputLayers left out
    inputs: tuple[int, ...]               # the model's input tensors
    input_shapes: tuple[tuple, ...]
    outputs: tuple[int, ...]              # the model's output tensors

    def consumers(self, tensor: int) -> list[LayerCall]:
        return [call for call in self.calls if tensor in call.inputs]

    def producer(self, tensor: int) -> LayerCall | None:
        return next((call for call in self.calls if tensor in call.outputs), None)


def as_functional(model: "keras.Model") -> "keras.Model":
    """The model itself if Functional; a Functional view sharing the layers if Sequential."""
    import keras

    if isinstance(model, keras.Sequential):
        try:
            return keras.Model(model.inputs, model.outputs, name=model.name)
        except (AttributeError, ValueError) as exc:
            raise OptimizationError(
                f"model '{model.name}' is a Sequential model without a known input shape; "
                "start it with keras.Input(shape=...) and retry"
            ) from exc
    if not hasattr(model, "_nodes_by_depth"):
        raise OptimizationError(
            f"model '{model.name}' is a subclassed Keras model; only Sequential and Functional "
            "models have a layer graph edgekit can rewrite"
        )
    return model


def layer_graph(model: "keras.Model") -> LayerGraph:
    """The layer calls of ``model`` in topological order."""
    import keras

    functional = as_functional(model)
    calls = []
    for layer in functional.operations:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            raise OptimizationError(
                f"layer '{layer.name}' is a nested model; flatten it into the outer model first"
            )
        nodes = [node for index, node in enumerate(layer._inbound_nodes)
                 if f"{id(layer)}_ib-{index}" in functional._nodes]
        if len(nodes) != 1:
            raise OptimizationError(
                f"layer '{layer.name}' is called {len(nodes)} times (shared layer); "
                "give each call its own layer and retry"
            )
        node = nodes[0]
        calls.append(LayerCall(
            layer=layer,
            inputs=tuple(id(t) for t in node.input_tensors),
            outputs=tuple(id(t) for t in node.outputs),
            input_shapes=tuple(tuple(t.shape) for t in node.input_tensors),
            output_shapes=tuple(tuple(t.shape) for t in node.outputs),
        ))
    return LayerGraph(
        calls=tuple(calls),
        inputs=tuple(id(t) for t in functional.inputs),
        input_shapes=tuple(tuple(t.shape) for t in functional.inputs),
        outputs=tuple(id(t) for t in functional.outputs),
    )
