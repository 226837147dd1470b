"""The pruning wrapper: masks live in the model, the forward pass uses ``kernel * mask``.

The wrapped layer runs inside a :class:`keras.StatelessScope` that maps each pruned weight
to its masked value, so pruned weights contribute nothing and receive no gradient, and any
layer type with named kernel attributes can be pruned without re-implementing its call.
``UpdatePruningStep`` follows the optimizer's step and, on the schedule's pruning steps,
recomputes the masks from the current magnitudes (already pruned weights stay
pruned: they are zeroed in place when their mask is set). Updating masks from the
callback rather than inside the compiled step keeps sorting and branching out of the
training graph, which makes large models (MobileNetV2) trace several times faster.
"""

from __future__ import annotations

import keras
from keras import saving

from edgekit.optimize.layers import gzip_aware, has_input_axis
from edgekit.optimize.pruning.algorithm import block_magnitude_mask, magnitude_mask, n_of_m_mask
from edgekit.optimize.pruning.runs import run_aware_kernel_mask
from edgekit.optimize.pruning.schedule import PruningSchedule
from edgekit.optimize.wrapping import KernelWrapper


@saving.register_keras_serializable(package="edgekit")
class PruneLowMagnitude(KernelWrapper):
    """Wraps a layer; prunes its ``weight_names`` by magnitude following ``schedule``.

    ``n_of_m=(n, m)``: keep n of every m input channels instead; ``block_size=k``: prune
    runs of k input channels together; ``run_cost=c``: prefer long runs of zeros in
    TFLite's byte order, which gzip codes cheaply (:mod:`.runs`; kernels under
    ``GZIP_AWARE_MIN_WEIGHTS`` are pruned plainly). Kernels without an input axis stay
    unstructured.
    """

    NESTED = ("layer", "schedule")

    def __init__(self, layer: keras.layers.Layer, schedule: PruningSchedule, weight_names: tuple[str, ...],
                 n_of_m: tuple[int, int] | None = None, block_size: int = 1, run_cost: float = 0.0, **kwargs):
        kwargs.setdefault("name", f"prune_low_magnitude_{layer.name}")
        super().__init__(layer, **kwargs)
        self.schedule = schedule
        self.weight_names = tuple(weight_names)
        self.n_of_m = tuple(n_of_m) if n_of_m else None
        self.block_size = int(block_size)
        self.run_cost = float(run_cost)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.masks = [self.add_weight(name=f"{name}_mask", shape=self._target(name).shape, initializer="ones",
                                      trainable=False) for name in self.weight_names]
        self.built = True

    def _target(self, name: str):
        return getattr(self.layer, name)

    def update_masks(self, step: int) -> None:
        """Recompute the masks for training step ``step`` (the caller checks the schedule)."""
        sparsity = self.schedule.sparsity_at(step)
        for name, mask in zip(self.weight_names, self.masks):
            weight = self._target(name)
            new = self._mask(name, weight * mask, sparsity)
            mask.assign(new)
            weight.assign(weight * new)

    def _mask(self, name: str, masked, sparsity):
        if self.n_of_m:
            return n_of_m_mask(masked, *self.n_of_m)
        if self.block_size > 1 and has_input_axis(self.layer, name):
            return block_magnitude_mask(masked, sparsity, self.block_size)
        if self.run_cost > 0 and has_input_axis(self.layer, name) and gzip_aware(masked):
            return run_aware_kernel_mask(keras.ops.convert_to_numpy(masked), sparsity, self.run_cost)
        return magnitude_mask(masked, sparsity)

    def call(self, inputs, **kwargs):
        mapping = [(self._target(n), self._target(n) * m) for n, m in zip(self.weight_names, self.masks)]
        with keras.StatelessScope(state_mapping=mapping):
            return self.layer(inputs, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"schedule": saving.serialize_keras_object(self.schedule),
                       "weight_names": list(self.weight_names),
                       "n_of_m": list(self.n_of_m) if self.n_of_m else None, "block_size": self.block_size,
                       "run_cost": self.run_cost})
        return config



class UpdatePruningStep(keras.callbacks.Callback):
    """Before each batch: updates a wrapper's masks if its schedule prunes at the optimizer's
    iteration (tfmot's semantics), so a resumed fit continues the schedule where it was."""

    def on_train_begin(self, logs=None):
        self._wrappers = [layer for layer in self.model._flatten_layers() if isinstance(layer, PruneLowMagnitude)]
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_begin(self, batch, logs=None):
        for wrapper in self._wrappers:
            if wrapper.schedule.should_prune(self._step):
                wrapper.update_masks(self._step)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
