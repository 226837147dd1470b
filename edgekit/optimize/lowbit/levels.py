"""The ternary / binary value of a kernel, per output channel (Keras ops: runs in the forward pass).

Ternary (Ternary Weight Networks): per channel, weights with |w| <= threshold * mean|w|
become 0, the others sign(w) * a, with a the mean |w| of those kept. Binary (BinaryConnect
with XNOR-Net's per-channel scale): sign(w) * mean|w|. ``keep`` (a 0/1 mask, e.g. from an
earlier pruning stage) holds zeros at zero and leaves them out of the statistics.
One value ``a`` per output channel matches TFLite's per-channel int8 scales, so the
converted kernel holds exactly {-127, 0, 127} (or {-127, 127}) per channel.
"""

from __future__ import annotations

from keras import ops


def channels(shape: tuple, depthwise: bool) -> int:
    """Output channels of a kernel: the last axis, or in * multiplier for a depthwise kernel."""
    return int(shape[-1]) * (int(shape[-2]) if depthwise else 1)


def low_bit(weight, levels: int, threshold: float, depthwise: bool = False, keep=None):
    """``weight`` with each output channel on {-a, 0, +a} (``levels`` 3) or {-a, +a} (``levels`` 2)."""
    shape = tuple(weight.shape)
    view = ops.reshape(weight, (-1, channels(shape, depthwise)))
    kept = ops.ones_like(view) if keep is None else ops.reshape(ops.cast(keep, view.dtype), ops.shape(view))
    magnitude = ops.abs(view) * kept
    mean = ops.sum(magnitude, axis=0) / ops.maximum(ops.sum(kept, axis=0), 1.0)
    if levels == 3:
        kept = ops.cast(magnitude > threshold * mean, view.dtype)
        scale = ops.sum(magnitude * kept, axis=0) / ops.maximum(ops.sum(kept, axis=0), 1.0)
    else:
        scale = mean
    signs = ops.where(view >= 0, 1.0, -1.0)
    return ops.reshape(signs * kept * scale, shape)
