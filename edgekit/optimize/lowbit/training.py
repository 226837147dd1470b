"""What the ternary and binary stages share: wrap, fine-tune, strip, and say what was kept."""

from __future__ import annotations

from edgekit.optimize.lowbit.api import quantize_weights, strip_lowbit
from edgekit.optimize.selector import Selector

_NAMES = {3: "ternary {-a, 0, +a}", 2: "binary {-a, +a}"}


def train_low_bit(model, levels: int, threshold: float, include_ends: bool, select: Selector, trainer):
    """The stripped model after fine-tuning with ``levels``-valued kernels; zeros of an earlier prune stage kept."""
    keep_zeros = levels == 3 and trainer.earlier("prune") is not None
    wrapped, kept = quantize_weights(model, levels, threshold=threshold, include_ends=include_ends,
                                     keep_zeros=keep_zeros, select=select)
    details = f", threshold {threshold:g} x mean |w|" if levels == 3 else ""
    details += ", pruned zeros kept" if keep_zeros else ""
    details += f", kept at int8: {', '.join(kept)}" if kept else ""
    trainer.progress(f"{'ternary' if levels == 3 else 'binary'}: kernels to {_NAMES[levels]} per channel{details}")
    trainer.fit(wrapped)
    return strip_lowbit(wrapped)
