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
