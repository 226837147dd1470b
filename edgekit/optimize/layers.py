"""Which weights of which Keras layers edgekit compresses, and how layers are selected.

Pruning and clustering act on the large multiply weights (kernels), never on biases,
normalisation or embeddings. Subclasses of the listed layers count as their nearest listed
base class; any layer can opt in like tfmot's ``PrunableLayer`` with a method
``compressible_weights(self) -> list[str]`` naming its kernel attributes, each laid out
(..., in, out). A layer with weights that is neither is *unsupported*: it is left as it is
and named in one warning, so a model with exotic layers still runs.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Iterable

import keras

from edgekit.optimize.selector import Selector

# layer class -> its compressible weight attributes, each with whether it is laid out
# (..., in, out): depthwise kernels (kh, kw, in, multiplier) are not, so structured N:M
# along input channels does not apply to them.
_COMPRESSIBLE: dict[type, tuple[tuple[str, bool], ...]] = {
    keras.layers.Dense: (("kernel", True),),
    keras.layers.Conv1D: (("kernel", True),),
    keras.layers.Conv2D: (("kernel", True),),
    keras.layers.Conv3D: (("kernel", True),),
    keras.layers.DepthwiseConv2D: (("kernel", False),),
    keras.layers.SeparableConv2D: (("depthwise_kernel", False), ("pointwise_kernel", True)),
}
# layers whose weights must stay as they are (statistics, scales, offsets): never warned about
_LEFT_ALONE = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.GroupNormalization,
               keras.layers.Normalization, keras.layers.Rescaling, keras.layers.InputLayer)

# Below this many weights a kernel's int8 bytes gzip to well under a kilobyte whatever their
# pattern, so the gzip-aware settings (run cost, entropy cost) leave it exact: that costs no
# size worth having and spares the small, accuracy-critical first and last layers.
GZIP_AWARE_MIN_WEIGHTS = 4096


def gzip_aware(weight) -> bool:
    """Whether the gzip-aware pruning/clustering settings apply to ``weight`` (big enough to matter)."""
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size >= GZIP_AWARE_MIN_WEIGHTS


class SkippedLayersWarning(UserWarning):
    """Selected layers that edgekit cannot compress were left unchanged (one warning per call)."""




@dataclass(frozen=True)
class Target:
    """A layer chosen for compression and the weight attributes to compress."""

    layer: keras.layers.Layer
    weights: tuple[str, ...]


def _entries(layer: keras.layers.Layer) -> tuple[tuple[str, bool], ...]:
    """The opt-in ``compressible_weights()`` of a custom layer, else those of its nearest listed base class.

    Conv2DTranspose & co. (kernels laid out (..., out, in)) derive from none of the listed
    classes, so they are not compressed.
    """
    opt_in = getattr(layer, "compressible_weights", None)
    if callable(opt_in):
        return tuple((str(name), True) for name in opt_in())
    for cls in type(layer).__mro__:
        if cls in _COMPRESSIBLE:
            return _COMPRESSIBLE[cls]
    return ()


def compressible_weights(layer: keras.layers.Layer) -> tuple[str, ...]:
    """The weight attribute names edgekit compresses on ``layer`` (empty if none)."""
    return tuple(name for name, _ in _entries(layer))


def has_input_axis(layer: keras.layers.Layer, weight_name: str) -> bool:
    """Whether a weight is laid out ``(..., in, out)`` so N:M groups along ``in`` make sense."""
    return dict(_entries(layer)).get(weight_name, False)


def matches(layer: keras.layers.Layer, select: Selector) -> bool:
    """``select``: None (all), a name regex, a layer class / sequence of classes, or a predicate."""
    if select is None:
        return True
    if isinstance(select, str):
        return re.search(select, layer.name) is not None
    if isinstance(select, type):
        return isinstance(layer, select)
    if callable(select):
        return bool(select(layer))
    return isinstance(layer, tuple(select))


def choose_targets(layers: Iterable[keras.layers.Layer], select: Selector, what: str,
                   structured: bool = False) -> dict[str, Target]:
    """The selected, supported layers by name; ONE warning lists the selected unsupported ones."""
    chosen: dict[str, Target] = {}
    skipped: list[str] = []
    for layer in layers:
        if not matches(layer, select) or not layer.weights or isinstance(layer, _LEFT_ALONE):
            continue
        names = tuple(n for n, in_axis in _entries(layer) if in_axis or not structured)
        if names:
            chosen[layer.name] = Target(layer, names)
        else:
            skipped.append(f"{layer.name} ({type(layer).__name__})")
    if skipped:
        warnings.warn(f"{what}: left {len(skipped)} layer(s) unchanged (not supported): {', '.join(skipped)}",
                      SkippedLayersWarning, stacklevel=3)
    return chosen
