"""A flat, topologically ordered view of a Keras 3 model's layer graph, and flat cloning.

Every optimization stage rewrites the same kind of graph: a Functional model whose nodes
are layers and raw Keras operations (``x + 3.0``, ``keras.ops.*``). Sequential models are
viewed as Functional ones and nested models (a backbone called inside the model) are
inlined, so a stage sees every layer it could compress; the rebuilt model comes back
flat. Subclassed models have no inspectable graph and are refused with a clear message.
Filter pruning, BatchNorm folding and QAT also need, per layer call, which tensors go in
and which come out (:func:`layer_graph`); a shared layer (one layer called twice) would
need per-call weights there, so it is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from edgekit.errors import OptimizationError

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class LayerCall:
    """One call of a layer (or raw op) in the graph; tensors are identified by ``id()`` of their KerasTensor."""

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
    """The model itself if Functional; a Functional view sharing the layers if Sequential.

    Nested models stay nested here (see :func:`flatten`).
    """
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
            f"model '{model.name}' is a subclassed keras.Model ({type(model).__name__}) without a layer graph; "
            "rebuild it as a functional model (keras.Input(...) -> layers -> keras.Model(inputs, outputs)) "
            "or a Sequential one, then optimize that"
        )
    return model


def is_layer(operation: Any) -> bool:
    """False for a raw Keras operation (``x + 3.0``, ``keras.ops.*``) in a functional graph."""
    import keras

    return isinstance(operation, keras.layers.Layer)


def leaf_layers(model: "keras.Model") -> list["keras.layers.Layer"]:
    """Every layer of ``model`` with nested models opened up, each shared layer once."""
    import keras

    seen: dict[int, keras.layers.Layer] = {}
    for layer in as_functional(model).layers:
        for leaf in leaf_layers(layer) if isinstance(layer, keras.Model) else [layer]:
            seen.setdefault(id(leaf), leaf)
    return list(seen.values())


def _check_unique_names(model: "keras.Model") -> None:
    counts = Counter(layer.name for layer in leaf_layers(model) if not _is_input(layer))
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise OptimizationError(
            f"model '{model.name}': nested models are flattened into one graph, but these layer names occur "
            f"more than once: {', '.join(duplicates)}; give those layers unique names (name=...) and retry"
        )


def _is_input(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.InputLayer)


def clone_graph(model: "keras.Model", clone: Callable[["keras.layers.Layer"], Any],
                call: Callable[..., Any] | None = None) -> "keras.Model":
    """A flat Functional copy of ``model``: nested models inlined, raw operations reused.

    ``clone(layer)`` gives each layer's replacement, once per layer, so a shared layer
    stays shared. ``call(new_layer, *args, **kwargs)`` (default: calling it) computes a
    call's outputs, e.g. to insert or skip layers. A frozen nested model stays frozen: its
    layers keep ``trainable=False`` in their configs.
    """
    import keras

    functional = as_functional(model)
    _check_unique_names(functional)
    cache: dict[int, Any] = {}

    def operation_fn(operation):
        if isinstance(operation, keras.Model) or not is_layer(operation):
            return operation  # nested models are inlined by call_fn; raw ops are reused
        if id(operation) not in cache:
            cache[id(operation)] = clone(operation)
        return cache[id(operation)]

    def call_fn(operation, *args, **kwargs):
        if isinstance(operation, keras.Model):  # Keras itself ignores a nested call's training=...
            return as_functional(operation)._run_through_graph(args[0], operation_fn=operation_fn, call_fn=call_fn)
        return call(operation, *args, **kwargs) if call else operation(*args, **kwargs)

    return keras.models.clone_model(functional, clone_function=operation_fn, call_function=call_fn)


def flatten(model: "keras.Model") -> "keras.Model":
    """``model`` as one Functional graph over its own layers (nested models inlined)."""
    import keras

    functional = as_functional(model)
    if not any(isinstance(layer, keras.Model) for layer in functional.layers):
        return functional
    return clone_graph(functional, lambda layer: layer)


def layer_graph(model: "keras.Model") -> LayerGraph:
    """The layer and raw-op calls of ``model`` (nested models inlined) in topological order."""
    functional = flatten(model)
    calls = []
    for layer in functional.operations:
        if _is_input(layer):
            continue
        nodes = [node for index, node in enumerate(layer._inbound_nodes)
                 if f"{id(layer)}_ib-{index}" in functional._nodes]
        if len(nodes) != 1:
            raise OptimizationError(
                f"layer '{layer.name}' is called {len(nodes)} times (a shared layer); QAT and filter pruning "
                "need one layer per call: give each call its own layer (pruning and clustering keep it shared)"
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
