"""The two layers a QAT model adds: an activation range observer and a kernel-quantizing wrapper."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from edgekit.optimize.qat.quantizers import fake_quant_activation, fake_quant_weight

KERNEL_LAYERS = ("Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D")


def kernel_kind(layer) -> str | None:
    """Which of ``KERNEL_LAYERS`` ``layer`` computes, or None.

    A subclass counts as its Keras base class only if it keeps the base's ``call``:
    :class:`QuantizeWrapper` re-implements exactly that computation.
    """
    for cls in type(layer).__mro__:
        if cls.__name__ in KERNEL_LAYERS and cls.__module__.startswith("keras."):
            return cls.__name__ if type(layer).call is cls.call else None
    return None


@keras.saving.register_keras_serializable(package="edgekit")
class ActivationQuantizer(keras.layers.Layer):
    """Fake-quantizes a tensor per-tensor (asymmetric int8); learns its range as an EMA of batch min/max.

    Sits where the TFLite converter will quantize: model inputs and the output of every
    fused op (Conv+bias+ReLU, Add+ReLU, ...).
    """

    def __init__(self, ema_decay: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.ema_decay = ema_decay

    def build(self, input_shape):
        self.range_min = self.add_weight(name="range_min", shape=(), initializer="zeros", trainable=False)
        self.range_max = self.add_weight(name="range_max", shape=(), initializer="zeros", trainable=False)
        self.observed = self.add_weight(name="observed", shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=None):
        if training:
            seen = self.observed
            blend = seen * self.ema_decay
            self.range_min.assign(blend * self.range_min + (1.0 - blend) * ops.min(x))
            self.range_max.assign(blend * self.range_max + (1.0 - blend) * ops.max(x))
            self.observed.assign(ops.ones_like(seen))
        return fake_quant_activation(x, self.range_min, self.range_max)

    def set_range(self, low: float, high: float) -> None:
        self.range_min.assign(low)
        self.range_max.assign(high)
        self.observed.assign(1.0)

    def get_config(self):
        return {**super().get_config(), "ema_decay": self.ema_decay}


@keras.saving.register_keras_serializable(package="edgekit")
class QuantizeWrapper(keras.layers.Layer):
    """Runs a Dense/Conv/DepthwiseConv layer with its kernel on the per-channel int8 grid.

    ``mask`` (1 where a weight may be non-zero) keeps pruned weights at zero; with
    ``cluster_indices`` the kernel is ``centroids[indices]`` per output channel, so
    training moves the centroids but never adds distinct values (tfmot's PQAT/CQAT).
    """

    def __init__(self, layer, mask: np.ndarray | None = None, cluster_indices: np.ndarray | None = None,
                 clusters: int | None = None, **kwargs):
        kwargs.setdefault("name", layer.name)
        super().__init__(**kwargs)
        self.layer = layer
        self.kind = kernel_kind(layer)
        self.channel_axes = 2 if self.kind.startswith("Depthwise") else 1
        self._mask_init = mask
        self._indices_init = cluster_indices
        self.clusters = int(cluster_indices.max()) + 1 if cluster_indices is not None else clusters

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = np.asarray(self.layer.kernel)
        mask = np.ones_like(kernel) if self._mask_init is None else self._mask_init.astype(kernel.dtype)
        self.mask = self.add_weight(name="mask", shape=kernel.shape, trainable=False,
                                    initializer=keras.initializers.Constant(mask))
        self.centroids = None
        if self.clusters is not None:  # from_config: zeros here, the saved values are loaded next
            indices = (np.zeros(kernel.shape, "int32") if self._indices_init is None
                       else self._indices_init.astype("int32"))
            centroids = _centroids_of(kernel, indices, self.channel_axes, self.clusters)
            self.cluster_indices = self.add_weight(name="cluster_indices", shape=indices.shape, dtype="int32",
                                                   trainable=False, initializer=keras.initializers.Constant(indices))
            self.centroids = self.add_weight(name="centroids", shape=centroids.shape,
                                             initializer=keras.initializers.Constant(centroids))
            self.layer.kernel.trainable = False

    def float_kernel(self):
        """The kernel before rounding: masked, and rebuilt from centroids when clustered."""
        kernel = self.layer.kernel
        if self.centroids is not None:
            flat = ops.reshape(self.cluster_indices, (-1, self.centroids.shape[-1]))
            kernel = ops.reshape(ops.take_along_axis(self.centroids, flat, axis=0), self.cluster_indices.shape)
        return kernel * self.mask

    def quantized_kernel(self):
        return fake_quant_weight(self.float_kernel(), self.channel_axes)

    def call(self, x):
        layer, kernel = self.layer, self.quantized_kernel()
        if self.kind == "Dense":
            y = ops.matmul(x, kernel)
        elif self.kind.startswith("Depthwise"):
            y = ops.depthwise_conv(x, kernel, strides=layer.strides, padding=layer.padding,
                                   data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        else:
            y = ops.conv(x, kernel, strides=layer.strides, padding=layer.padding,
                         data_format=layer.data_format, dilation_rate=layer.dilation_rate)
        if layer.use_bias:
            y = y + layer.bias
        return layer.activation(y)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer),
                "clusters": self.clusters}

    @classmethod
    def from_config(cls, config):
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def _centroids_of(kernel: np.ndarray, indices: np.ndarray, channel_axes: int, clusters: int) -> np.ndarray:
    """Per output channel, the value each cluster index stands for: shape (clusters, channels)."""
    flat_k = kernel.reshape(-1, int(np.prod(kernel.shape[-channel_axes:])))
    flat_i = indices.reshape(flat_k.shape)
    centroids = np.zeros((clusters, flat_k.shape[1]), dtype=kernel.dtype)
    centroids[flat_i, np.broadcast_to(np.arange(flat_k.shape[1]), flat_i.shape)] = flat_k
    return centroids
