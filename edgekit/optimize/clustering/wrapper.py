"""The clustering wrapper: a kernel becomes ``centroids[indices]`` and the centroids learn.

Each clustered weight gets a trainable centroid table and a fixed table of indices into
it (the nearest centroid of every original weight, chosen once: re-assigning during
fine-tuning makes weights hop between clusters and lose what the centroids learned). The
original kernel is frozen; the forward pass maps it to ``take(centroids, indices)`` inside
a :class:`keras.StatelessScope`, so gradients reach the centroids. With
``preserve_sparsity`` the zeros are kept by a fixed 0/1 mask, not by a centroid that could
move away from zero, so a pruned model stays exactly as sparse.

Per-channel clustering gives every output channel its own centroids (``indices`` then
point into the flattened ``(channels, clusters)`` table), matching per-channel int8 scales.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops, saving

from edgekit.optimize.clustering.centroids import assign_entropy_constrained, init_centroids
from edgekit.optimize.layers import gzip_aware, has_input_axis
from edgekit.optimize.wrapping import KernelWrapper


@saving.register_keras_serializable(package="edgekit")
class ClusterWeights(KernelWrapper):
    """Wraps a layer; its ``weight_names`` are shared-value (clustered) weights.

    ``entropy_cost`` > 0 assigns the weights of kernels with at least
    ``GZIP_AWARE_MIN_WEIGHTS`` weights entropy-constrained (see :mod:`.centroids`).
    """

    def __init__(self, layer: keras.layers.Layer, weight_names: tuple[str, ...], number_of_clusters: int,
                 init: str = "kmeans++", per_channel: bool = False, preserve_sparsity: bool = False,
                 entropy_cost: float = 0.0, **kwargs):
        kwargs.setdefault("name", f"cluster_{layer.name}")
        super().__init__(layer, **kwargs)
        self.weight_names = tuple(weight_names)
        self.number_of_clusters = int(number_of_clusters)
        self.init = init
        self.per_channel = bool(per_channel)
        self.preserve_sparsity = bool(preserve_sparsity)
        self.entropy_cost = float(entropy_cost)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.centroids, self.indices, self.masks = [], [], []
        for name in self.weight_names:
            weight = getattr(self.layer, name)
            weight.trainable = False
            channels = _channels(weight.shape, self._depthwise(name)) if self.per_channel else 1
            self.centroids.append(self.add_weight(name=f"{name}_centroids", shape=(channels * self.number_of_clusters,),
                                                  initializer="zeros", trainable=True))
            self.indices.append(self.add_weight(name=f"{name}_indices", shape=weight.shape, dtype="int32",
                                                initializer="zeros", trainable=False))
            self.masks.append(self.add_weight(name=f"{name}_mask", shape=weight.shape, initializer="ones",
                                              trainable=False) if self.preserve_sparsity else None)
        self.built = True

    def initialize_clusters(self, seed: int = 0) -> None:
        """Pick centroids from the current weights and assign every weight to its nearest one."""
        for name, centroids, indices, mask in zip(self.weight_names, self.centroids, self.indices, self.masks):
            weight = np.asarray(getattr(self.layer, name).numpy())
            keep = weight != 0 if self.preserve_sparsity else np.ones(weight.shape, bool)
            depthwise = self._depthwise(name)
            entropy_cost = self.entropy_cost if gzip_aware(weight) else 0.0
            view, keep_view = _channel_view(weight, depthwise), _channel_view(keep, depthwise)
            columns = range(view.shape[1]) if self.per_channel else [None]
            table, index = [], np.zeros(view.shape, np.int32)
            for c, column in enumerate(columns):
                values = view if column is None else view[:, column]
                kept = keep_view if column is None else keep_view[:, column]
                centers = init_centroids(values[kept], self.number_of_clusters, self.init, seed)
                chosen = assign_entropy_constrained(values, centers, entropy_cost, kept)
                chosen = chosen + c * self.number_of_clusters
                if column is None:
                    index = chosen
                else:
                    index[:, column] = chosen
                table.append(centers)
            centroids.assign(np.concatenate(table))
            indices.assign(index.reshape(weight.shape))
            if mask is not None:
                mask.assign(keep.astype(np.float32))

    def _depthwise(self, name: str) -> bool:
        return not has_input_axis(self.layer, name)

    def kernel_value(self, i: int):
        """The i-th clustered weight as the forward pass sees it."""
        value = ops.take(self.centroids[i], self.indices[i])
        return value if self.masks[i] is None else value * self.masks[i]

    def call(self, inputs, training=None, **kwargs):
        mapping = [(getattr(self.layer, name), self.kernel_value(i)) for i, name in enumerate(self.weight_names)]
        with keras.StatelessScope(state_mapping=mapping):
            return self.layer(inputs, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"weight_names": list(self.weight_names), "number_of_clusters": self.number_of_clusters,
                       "init": self.init, "per_channel": self.per_channel,
                       "preserve_sparsity": self.preserve_sparsity, "entropy_cost": self.entropy_cost})
        return config



def _channels(shape: tuple, depthwise: bool) -> int:
    """Output channels of a kernel: the last axis, or in*multiplier for a depthwise kernel."""
    return int(np.prod(shape[-2:])) if depthwise else int(shape[-1])


def _channel_view(array: np.ndarray, depthwise: bool) -> np.ndarray:
    """``array`` as (elements per channel, channels), channels in TFLite's order."""
    return array.reshape(-1, _channels(array.shape, depthwise))
