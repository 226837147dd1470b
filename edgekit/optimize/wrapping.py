"""The base of the wrappers that rewrite a layer's kernels in its forward pass (pruning, clustering).

What every such wrapper shares, written once: its output is the wrapped layer's (the output
spec is asked of the layer, so a custom layer without ``compute_output_shape`` is traced as
Keras would trace it), and deserialisation rebuilds the wrapped layer and the other Keras
objects in its config (``NESTED``).
"""

from __future__ import annotations

import keras
from keras import saving


class KernelWrapper(keras.layers.Wrapper):
    """A ``keras.layers.Wrapper`` whose subclasses only say how the kernels are rewritten."""

    NESTED: tuple[str, ...] = ("layer",)  # config entries that are serialized Keras objects

    def compute_output_spec(self, *args, **kwargs):
        return self.layer.compute_output_spec(*args, **kwargs)

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        for key in cls.NESTED:
            config[key] = saving.deserialize_keras_object(config[key])
        return cls(**config)
