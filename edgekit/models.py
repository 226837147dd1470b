"""Reference Keras 3 models edgekit builds itself (the demo's default, the benchmarks' CNN)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keep TensorFlow out of import time
    import keras


def digits_cnn(input_shape: tuple[int, int, int] = (8, 8, 1), classes: int = 10) -> "keras.Model":
    """The 151k-parameter CNN of the tfmot comparison benchmark (digits, 8x8x1 -> 10).

    Conv2D 32 (3x3, same, relu) -> Conv2D 64 (3x3, same, relu) -> MaxPool 2 -> Flatten
    -> Dense 128 relu -> Dense 10 (logits).
    """
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(128, activation="relu", name="fc1"),
            keras.layers.Dense(classes, name="logits"),
        ],
        name="digits_cnn",
    )


def compile_classifier(model: "keras.Model", learning_rate: float = 1e-3) -> "keras.Model":
    """Adam + sparse categorical cross-entropy on logits + accuracy: how edgekit trains classifiers."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def make_int8_fragile(model: "keras.Model", conv: str = "conv2", dense: str = "fc1",
                      channel: int = 0, outlier: float = 50.0) -> "keras.Model":
    """Give ``dense`` an outlier-heavy kernel that float inference never sees (in place).

    Channel ``channel`` of ``conv`` is silenced (zero kernel, negative bias: its ReLU
    output is exactly 0; float accuracy barely moves), and every ``dense`` weight reading
    that channel becomes +-``outlier``. Those weights multiply zeros, so float outputs
    ignore them, but they set ``dense``'s per-channel int8 scales ~1000x too large and
    its real weights round to zero: the benchmarks' deliberately fragile layer.
    """
    import numpy as np

    conv_layer, dense_layer = model.get_layer(conv), model.get_layer(dense)
    kernel, bias = (np.asarray(w) for w in conv_layer.weights)
    kernel[..., channel] = 0.0
    bias[channel] = -1.0
    conv_layer.set_weights([kernel, bias])
    weights, dense_bias = (np.asarray(w) for w in dense_layer.weights)
    channels = kernel.shape[-1]
    rows = np.arange(channel, weights.shape[0], channels)  # Flatten keeps channels last
    signs = np.where(np.arange(weights.shape[1]) % 2 == 0, 1.0, -1.0)
    weights[rows, :] = outlier * signs
    dense_layer.set_weights([weights, dense_bias])
    return model
