"""How important is each output channel of a layer: L1/L2 norm of its filter or BatchNorm scale."""

from __future__ import annotations

import numpy as np


def filter_kernel(layer) -> np.ndarray:
    """The weight whose last axis is the layer's output channels (pointwise for separable convs)."""
    kernel = getattr(layer, "pointwise_kernel", None)
    if kernel is None:
        kernel = layer.kernel
    return np.asarray(kernel)


def filter_scores(layer, criterion: str, batchnorm=None) -> np.ndarray:
    """One non-negative score per output channel, normalised to mean 1 so layers can be summed.

    ``bn`` ranks by ``|gamma|`` of the BatchNormalization right after the layer (the
    network-slimming criterion); a layer without one falls back to L1.
    """
    if criterion == "bn" and batchnorm is not None and batchnorm.gamma is not None:
        scores = np.abs(np.asarray(batchnorm.gamma))
    else:
        kernel = filter_kernel(layer)
        kernel = kernel.reshape(-1, kernel.shape[-1])
        scores = np.sqrt((kernel ** 2).sum(axis=0)) if criterion == "l2" else np.abs(kernel).sum(axis=0)
    mean = float(scores.mean())
    return scores / mean if mean > 0 else np.ones_like(scores)
