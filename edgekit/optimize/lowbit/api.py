"""``quantize_weights`` / ``strip_lowbit``: ternary or binary kernels for a Keras 3 model.

The first and last compressed layers stay as they are by default: they are small, see the
raw input and produce the outputs, and low-bit versions of them cost most of the accuracy
(as in Ternary Weight Networks and BinaryConnect); they are exported at int8.
"""

from __future__ import annotations

import keras

from edgekit.optimize.graph import as_functional, leaf_layers
from edgekit.optimize.layers import Selector, choose_targets
from edgekit.optimize.lowbit.wrapper import LowBitWeights
from edgekit.optimize.rewrite import fresh_copy, rebuild
from edgekit.optimize.wrapping import strip_wrappers


def end_layers(model: keras.Model, select: Selector = None) -> list[str]:
    """Names of the first compressible layer and of every one whose output is a model output (else the last)."""
    targets = choose_targets(leaf_layers(model), select, "low-bit weights")
    if not targets:
        return []
    names = list(targets)
    producing = {tensor._keras_history.operation.name for tensor in as_functional(model).outputs}
    last = [name for name in names if name in producing] or [names[-1]]
    return list(dict.fromkeys([names[0], *last]))


def quantize_weights(model: keras.Model, levels: int, *, threshold: float = 0.7, include_ends: bool = False,
                     keep_zeros: bool = False, select: Selector = None) -> tuple[keras.Model, list[str]]:
    """A copy of ``model`` whose selected kernels train as ternary (``levels`` 3) or binary (2) values.

    Fine-tune it, then :func:`strip_lowbit`. Returns the wrapped model and the names of the
    layers kept as they are (the ends, unless ``include_ends``). ``keep_zeros``: weights
    that are 0 now (pruned) stay 0, in the kept layers too.
    """
    kept = [] if include_ends else end_layers(model, select)
    targets = choose_targets(leaf_layers(model), select, "low-bit weights")

    def replace(layer):
        target = targets.get(layer.name)
        if target is None or (layer.name in kept and not keep_zeros):
            return None
        return LowBitWeights(fresh_copy(layer), target.weights, 0 if layer.name in kept else levels, threshold,
                             keep_zeros)

    def copy(old, wrapper: LowBitWeights) -> None:
        wrapper.layer.set_weights(old.get_weights())
        wrapper.remember_zeros()

    return rebuild(model, replace, copy), kept


def strip_lowbit(model: keras.Model) -> keras.Model:
    """A plain Keras model whose low-bit kernels hold their final ternary/binary values."""
    return strip_wrappers(model, LowBitWeights)
