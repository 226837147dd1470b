"""The low-bit wrapper: the forward pass sees the ternary/binary kernel, the gradient the latent one.

Training keeps a full-precision ("latent") kernel; each forward pass maps it to its
ternary/binary value inside a :class:`keras.StatelessScope` (as the pruning and
clustering wrappers do) through a straight-through estimator,
``w + stop_gradient(q(w) - w)``: the loss sees ``q(w)``, the gradient updates ``w`` as if
``q`` were the identity, so weights can cross the thresholds as training goes on.
"""

from __future__ import annotations

import keras
from keras import ops, saving

from edgekit.optimize.layers import has_input_axis
from edgekit.optimize.lowbit.levels import low_bit
from edgekit.optimize.wrapping import KernelWrapper


@saving.register_keras_serializable(package="edgekit")
class LowBitWeights(KernelWrapper):
    """Wraps a layer; its ``weight_names`` take ``levels`` (3 or 2) values per output channel.

    ``keep_zeros``: weights that are exactly 0 when wrapped (pruned) stay 0. ``levels`` 0:
    the kernel stays full precision and only its zeros are held (a pruned first/last layer
    that is kept at int8 must not regrow its zeros while the others train).
    """

    def __init__(self, layer: keras.layers.Layer, weight_names: tuple[str, ...], levels: int = 3,
                 threshold: float = 0.7, keep_zeros: bool = False, **kwargs):
        kwargs.setdefault("name", f"lowbit_{layer.name}")
        super().__init__(layer, **kwargs)
        self.weight_names = tuple(weight_names)
        self.levels = int(levels)
        self.threshold = float(threshold)
        self.keep_zeros = bool(keep_zeros)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.masks = [self.add_weight(name=f"{name}_mask", shape=getattr(self.layer, name).shape,
                                      initializer="ones", trainable=False) if self.keep_zeros else None
                      for name in self.weight_names]
        self.built = True

    def remember_zeros(self) -> None:
        """Fix the current zeros of the kernels as the ones to keep (after weights are copied in)."""
        for name, mask in zip(self.weight_names, self.masks):
            if mask is not None:
                mask.assign(ops.cast(ops.not_equal(getattr(self.layer, name), 0), mask.dtype))

    def kernel_value(self, i: int):
        """The i-th kernel's ternary/binary value."""
        name = self.weight_names[i]
        if self.levels == 0:
            latent = getattr(self.layer, name)
            return latent if self.masks[i] is None else latent * self.masks[i]
        return low_bit(getattr(self.layer, name), self.levels, self.threshold,
                       depthwise=not has_input_axis(self.layer, name), keep=self.masks[i])

    def call(self, inputs, **kwargs):
        mapping = []
        for i, name in enumerate(self.weight_names):
            latent = getattr(self.layer, name)
            mapping.append((latent, latent + ops.stop_gradient(self.kernel_value(i) - latent)))
        with keras.StatelessScope(state_mapping=mapping):
            return self.layer(inputs, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"weight_names": list(self.weight_names), "levels": self.levels,
                       "threshold": self.threshold, "keep_zeros": self.keep_zeros})
        return config
