"""Fake quantization with straight-through gradients, matching TFLite's int8 arithmetic.

Weights: per output channel, symmetric, int8 in [-127, 127], scale = max|w| / 127 -- the
exact rule the TFLite converter uses, so a weight already on this grid is reproduced
bit for bit. Activations: per tensor, asymmetric, int8 in [-128, 127] over a range
nudged to contain 0 (TFLite's zero point is an integer). Gradients pass straight through
inside the range and are zero outside it (clipped straight-through estimator).
"""

from __future__ import annotations

import keras
from keras import ops

WEIGHT_QMAX = 127.0
ACT_QMIN, ACT_QMAX = -128.0, 127.0


def _round_ste(x, scale):
    """``round(x / scale) * scale`` forward, identity backward."""
    return x + ops.stop_gradient(ops.round(x / scale) * scale - x)


def weight_scale(kernel, channel_axes: int = 1):
    """Per-channel symmetric scale over the last ``channel_axes`` axes (2 for depthwise kernels)."""
    reduce_axes = tuple(range(len(kernel.shape) - channel_axes))
    max_abs = ops.max(ops.abs(kernel), axis=reduce_axes, keepdims=True)
    return ops.stop_gradient(ops.where(max_abs > 0, max_abs / WEIGHT_QMAX, ops.ones_like(max_abs)))


def fake_quant_weight(kernel, channel_axes: int = 1):
    """Kernel rounded onto its per-channel int8 grid (zeros stay exactly zero)."""
    scale = weight_scale(kernel, channel_axes)
    clipped = ops.clip(kernel, -WEIGHT_QMAX * scale, WEIGHT_QMAX * scale)
    return _round_ste(clipped, scale)


def activation_qparams(min_value, max_value):
    """Scale and integer zero point of TFLite's asymmetric int8 quantization of [min, max]."""
    lo = ops.minimum(min_value, 0.0)
    hi = ops.maximum(max_value, 0.0)
    scale = ops.maximum((hi - lo) / (ACT_QMAX - ACT_QMIN), keras.config.epsilon())
    zero_point = ops.clip(ops.round(ACT_QMIN - lo / scale), ACT_QMIN, ACT_QMAX)
    return scale, zero_point


def fake_quant_activation(x, min_value, max_value):
    """``x`` as int8 would represent it with the range [min_value, max_value]."""
    scale, zero_point = activation_qparams(ops.stop_gradient(min_value), ops.stop_gradient(max_value))
    lo = (ACT_QMIN - zero_point) * scale
    hi = (ACT_QMAX - zero_point) * scale
    clipped = ops.minimum(ops.maximum(x, lo), hi)
    return _round_ste(clipped - lo, scale) + lo
