"""``prune_low_magnitude`` / ``strip_pruning``: the two calls a user needs."""

from __future__ import annotations

import keras

from edgekit.optimize.graph import leaf_layers
from edgekit.optimize.layers import Selector, choose_targets
from edgekit.optimize.pruning.config import check_structure
from edgekit.optimize.pruning.schedule import PruningSchedule
from edgekit.optimize.pruning.wrapper import PruneLowMagnitude
from edgekit.optimize.rewrite import fresh_copy, rebuild
from edgekit.optimize.tfmot_names import accepts_tfmot_names


@accepts_tfmot_names
def prune_low_magnitude(model: keras.Model, schedule: PruningSchedule, *, select: Selector = None,
                        n_of_m: tuple[int, int] | None = None, block_size: int = 1,
                        run_cost: float = 0.0) -> keras.Model:
    """A copy of ``model`` whose selected kernels are pruned during training.

    ``select``: layer class(es), a name regex or a predicate (default: every supported
    layer). ``n_of_m=(n, m)``: structured N:M sparsity along input channels instead of
    unstructured magnitude pruning (depthwise kernels, which have no such axis, are then
    left alone). ``block_size=k``: the schedule's sparsity, reached by pruning whole runs
    of k consecutive input channels (depthwise kernels are pruned weight by weight).
    ``run_cost=c`` (e.g. 0.3): each kernel row, in TFLite's byte order, keeps the most
    magnitude minus ``c`` pruning thresholds per switch between kept and pruned weights, so
    the zeros come in long runs and the file gzips smaller for a little accuracy (kernels
    under ``GZIP_AWARE_MIN_WEIGHTS`` = 4096 weights, too small to matter, are pruned plainly).
    Train with the :class:`UpdatePruningStep` callback, then :func:`strip_pruning`.

    Any Sequential or functional graph works: raw ops (``x + 3.0``) are kept, a shared layer
    gets one wrapper, and nested models (``base = MobileNetV2(include_top=False)``,
    ``base(inputs)``) are inlined, so their layers are pruned too and the model comes back
    flat, one functional graph (layer names must then be unique across the nesting).
    """
    n_of_m, block_size, run_cost = check_structure(n_of_m, block_size, run_cost)
    what = f"{n_of_m[0]}:{n_of_m[1]} pruning" if n_of_m else "pruning"
    targets = choose_targets(leaf_layers(model), select, what, structured=n_of_m is not None)

    def replace(layer):
        target = targets.get(layer.name)
        if target is None:
            return None
        return PruneLowMagnitude(fresh_copy(layer), schedule, target.weights, n_of_m, block_size,
                                 run_cost)

    return rebuild(model, replace, lambda old, new: new.layer.set_weights(old.get_weights()))


def strip_pruning(model: keras.Model) -> keras.Model:
    """A plain Keras model with the pruned weights zeroed and no wrappers or masks left."""
    return rebuild(model, lambda layer: fresh_copy(layer.layer) if isinstance(layer, PruneLowMagnitude) else None,
                   _copy_masked)


def _copy_masked(wrapper: PruneLowMagnitude, plain: keras.layers.Layer) -> None:
    plain.set_weights(wrapper.layer.get_weights())
    for name, mask in zip(wrapper.weight_names, wrapper.masks):
        getattr(plain, name).assign(getattr(wrapper.layer, name) * mask)
