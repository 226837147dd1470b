"""Rebuilding a Keras 3 model with some layers wrapped or unwrapped, weights carried over.

``keras.models.clone_model`` re-traces Sequential and functional graphs (residual Add,
Concatenate, shared inputs) with fresh layers; a ``clone_function`` decides what each
layer becomes. Fresh layers start with new weights, so they are copied afterwards.
"""

from __future__ import annotations

from typing import Callable

import keras

from edgekit.errors import OptimizationError


def fresh_copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new, unbuilt layer with the same configuration (weights copied later)."""
    return layer.__class__.from_config(layer.get_config())


def rebuild(model: keras.Model, replace: Callable[[keras.layers.Layer], keras.layers.Layer | None],
            copy_weights: Callable[[keras.layers.Layer, keras.layers.Layer], None]) -> keras.Model:
    """Clone ``model``; ``replace(layer)`` returns the new layer or None for a plain copy.

    After cloning, ``copy_weights(old, new)`` moves each replaced layer's state; other
    layers get their weights copied as they are.
    """
    pairs: list[tuple[keras.layers.Layer, keras.layers.Layer, bool]] = []

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        new = replace(layer)
        replaced = new is not None
        new = new if replaced else fresh_copy(layer)
        pairs.append((layer, new, replaced))
        return new

    if not isinstance(model, (keras.Sequential, keras.Model)) or type(model).__name__ not in ("Sequential", "Functional"):
        raise OptimizationError(f"{model.name}: only Sequential and functional Keras models can be optimized "
                                f"(got a subclassed {type(model).__name__}); rebuild it with keras.Input")
    new_model = keras.models.clone_model(model, clone_function=clone)
    for old, new, replaced in pairs:
        if replaced:
            copy_weights(old, new)
        elif old.weights:
            new.set_weights(old.get_weights())
    return new_model
