"""Rebuilding a Keras 3 model with some layers wrapped or unwrapped, weights carried over.

:func:`edgekit.optimize.graph.clone_graph` re-traces the model (Sequential, functional,
nested models inlined, raw ops such as ``x + 3.0`` kept as they are) with fresh layers;
``replace`` decides what each layer becomes. Fresh layers start with new weights, so they
are copied afterwards. A shared layer gets one replacement, so it stays shared.
"""

from __future__ import annotations

from typing import Any, Callable

import keras

from edgekit.errors import OptimizationError, first_line
from edgekit.optimize.graph import clone_graph


def fresh_copy(layer: keras.layers.Layer, **changes) -> keras.layers.Layer:
    """A new, unbuilt layer with the same configuration but ``changes`` (weights copied later).

    A ``Lambda`` layer is reused: it holds only a Python function, which Keras refuses to
    re-create from a config (safe mode), and nothing in it changes.
    """
    if isinstance(layer, keras.layers.Lambda) and not layer.weights and not changes:
        return layer
    try:
        return layer.__class__.from_config({**layer.get_config(), **changes})
    except Exception as exc:  # a custom layer's get_config/from_config may raise anything
        raise OptimizationError(
            f"layer '{layer.name}' ({type(layer).__name__}) cannot be re-created from its config "
            f"({type(exc).__name__}: {first_line(exc)}); give the class a get_config() that from_config() accepts"
        ) from None


def rebuild(model: keras.Model, replace: Callable[[keras.layers.Layer], keras.layers.Layer | None],
            copy_weights: Callable[[keras.layers.Layer, keras.layers.Layer], None],
            call: Callable[..., Any] | None = None) -> keras.Model:
    """A flat functional clone of ``model``; ``replace(layer)`` returns the new layer or None for a plain copy.

    After cloning, ``copy_weights(old, new)`` moves each replaced layer's state; other
    layers get their weights copied as they are. ``call``: as in :func:`clone_graph`
    (a replacement that is a chain of layers runs the chain there).
    """
    pairs: list[tuple[keras.layers.Layer, keras.layers.Layer, bool]] = []

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        new = replace(layer)
        replaced = new is not None
        new = new if replaced else fresh_copy(layer)
        pairs.append((layer, new, replaced))
        return new

    new_model = clone_graph(model, clone, call)
    for old, new, replaced in pairs:
        if replaced:
            copy_weights(old, new)
        elif old.weights:
            new.set_weights(old.get_weights())
    return new_model
