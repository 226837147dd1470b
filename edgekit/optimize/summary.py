"""What compression did to a model: per-layer sparsity, unique values and parameter counts."""

from __future__ import annotations

import keras
import numpy as np

from edgekit.optimize.layers import compressible_weights


def layer_stats(model: keras.Model) -> list[dict]:
    """One row per layer with compressible weights (kernels), in model order."""
    rows = []
    for layer in model.layers:
        names = compressible_weights(layer)
        if not names or not layer.weights:
            continue
        values = [np.asarray(getattr(layer, name).numpy()) for name in names]
        size = sum(v.size for v in values)
        zeros = sum(int(np.count_nonzero(v == 0)) for v in values)
        rows.append({"layer": layer.name, "type": type(layer).__name__,
                     "params": int(layer.count_params()), "kernel_params": int(size),
                     "sparsity": round(zeros / size, 4) if size else 0.0,
                     "unique_values": max(int(np.unique(v).size) for v in values)})
    return rows


def accuracy(model: keras.Model, x, y, batch_size: int = 256) -> float:
    """Top-1 accuracy of a classifier (argmax of its output) on integer labels."""
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == np.asarray(y).reshape(-1)))


def count_params(model: keras.Model) -> dict:
    weights = [np.asarray(w.numpy()) for w in model.weights]
    return {"total": int(sum(w.size for w in weights)),
            "nonzero": int(sum(np.count_nonzero(w) for w in weights))}
