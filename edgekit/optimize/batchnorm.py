"""BatchNorm statistics re-estimated after a compression stage.

A stage changes the kernels feeding each BatchNormalization layer (80% of them zeroed, or
snapped to 16 values), but its few fine-tuning steps move the moving mean and variance
only a little (momentum 0.99: 90 steps leave 40% of the old statistics). At inference
the layer then normalises with statistics of a model that no longer exists. Measured on
a Conv-BN-ReLU digits CNN (80% pruned, 2 epochs): re-estimating the statistics on the
training data gives +3.3 points at Adam 1e-4 and +1.4 at 1e-3; freezing them during the
fine-tuning instead loses 10.9 points at 1e-4 and 4.5 at 1e-3 (the layers then normalise
with the unpruned model's statistics throughout).
"""

from __future__ import annotations

import keras
import numpy as np

# Enough samples for a mean and variance per channel; more only costs time.
SAMPLES = 1024


def reestimate_batchnorm(model: keras.Model, x) -> int:
    """Set every BatchNormalization layer's moving statistics to those of its input on ``x``; in place.

    Layers are visited in model order, each with the statistics of the layers before it
    already updated, so the inputs are what inference will see. A layer whose input is not
    a tensor of this graph (inside a nested model, or shared) is left alone. Returns the
    number of layers updated.
    """
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    inputs = [a[:SAMPLES] for a in x] if isinstance(x, list) else x[:SAMPLES]
    updated = 0
    for layer in layers:
        try:
            probe = keras.Model(model.inputs, layer.input)
        except (AttributeError, ValueError):
            continue
        values = np.asarray(probe.predict(inputs, batch_size=256, verbose=0), dtype=np.float64)
        axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
        reduce = tuple(i for i in range(values.ndim) if i not in {a % values.ndim for a in axes})
        layer.moving_mean.assign(values.mean(axis=reduce).astype(np.float32))
        layer.moving_variance.assign(values.var(axis=reduce).astype(np.float32))
        updated += 1
    return updated
