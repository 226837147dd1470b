"""The base of the wrappers that rewrite a layer's kernels in its forward pass (pruning, clustering,
ternary/binary).

What every such wrapper shares, written once: its output is the wrapped layer's (the output
spec is asked of the layer, so a custom layer without ``compute_output_shape`` is traced as
Keras would trace it), deserialisation rebuilds the wrapped layer and the other Keras
objects in its config (``NESTED``), and :func:`strip_wrappers` turns a wrapped model back
into a plain one whose kernels hold what the wrappers computed (``kernel_value``).
"""

from __future__ import annotations

import keras
from keras import saving

from edgekit.optimize.rewrite import fresh_copy, rebuild


class KernelWrapper(keras.layers.Wrapper):
    """A ``keras.layers.Wrapper`` whose subclasses only say how the kernels are rewritten."""

    NESTED: tuple[str, ...] = ("layer",)  # config entries that are serialized Keras objects

    def compute_output_spec(self, *args, **kwargs):
        return self.layer.compute_output_spec(*args, **kwargs)

    weight_names: tuple[str, ...]

    def kernel_value(self, i: int):
        """The i-th of ``weight_names`` as the forward pass sees it (what stripping keeps)."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        for key in cls.NESTED:
            config[key] = saving.deserialize_keras_object(config[key])
        return cls(**config)


def strip_wrappers(model: keras.Model, wrapper_type: type[KernelWrapper]) -> keras.Model:
    """A plain Keras model: every ``wrapper_type`` layer becomes its wrapped layer holding the kernel values."""

    def copy(wrapper: KernelWrapper, plain: keras.layers.Layer) -> None:
        plain.set_weights(wrapper.layer.get_weights())
        for i, name in enumerate(wrapper.weight_names):
            getattr(plain, name).assign(wrapper.kernel_value(i))

    return rebuild(model, lambda layer: fresh_copy(layer.layer) if isinstance(layer, wrapper_type) else None, copy)
