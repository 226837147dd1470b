"""A real Keras 3 architecture end to end: MobileNetV2 pruned, clustered and converted to full int8."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from edgekit.optimize.layers import SkippedLayersWarning
from edgekit.optimize.clustering.config import ClusterConfig
from edgekit.optimize.engine import Recipe, optimize
from edgekit.optimize.pruning.config import PruneConfig
from edgekit.optimize.stages import Step
from edgekit.optimize.trainer import Finetune

from helpers.support import tflite_weights


@pytest.mark.slow
def test_mobilenet_v2_prune_cluster_full_int8():
    from edgekit.convert import convert_model
    from edgekit.data import Dataset

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3), classes=10)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"Conv2D", "DepthwiseConv2D", "BatchNormalization", "Add", "Dense"} <= kinds
    rng = np.random.default_rng(0)
    data = Dataset(x=rng.random((16, 96, 96, 3), dtype=np.float32), y=rng.integers(0, 10, 16), source="random")
    recipe = Recipe([Step("prune", PruneConfig(sparsity=0.5, schedule="constant")),
                     Step("cluster", ClusterConfig(clusters=16, preserve_sparsity=True))],
                    Finetune(epochs=1, batch_size=8, learning_rate=1e-4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedLayersWarning)  # every MobileNetV2 kernel is supported
        result = optimize(model, recipe, data, data)
    optimized = result.model
    assert [type(layer).__name__ for layer in optimized.layers] == [type(layer).__name__ for layer in model.layers]
    layers = {row["layer"]: row for row in result.summary["layers"]}
    assert len(layers) == 53  # 52 convolutions (35 Conv2D, 17 DepthwiseConv2D) + the classifier
    for name, row in layers.items():
        assert row["sparsity"] >= 0.49, name
        assert row["unique_values"] <= 17, name

    flatbuffer = convert_model(optimized, quantize="int8", representative=data.x[:8])
    weights = tflite_weights(flatbuffer)
    assert len(weights) >= 50
    zero_fractions = [np.mean(w == 0) for w in weights.values() if w.size > 64]
    assert min(zero_fractions) >= 0.45
