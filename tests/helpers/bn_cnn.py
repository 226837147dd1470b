"""A user's small CNN as the accuracy-budget tests need it: Conv-BatchNorm-ReLU, Conv, MaxPool, Dense,
Dropout and a softmax output, trained only 3 epochs on the shipped 8x8 digits (97.5% at seed 1),
saved with its compiled Adam optimizer — the model the digits defaults were not tuned on. The README's
"your own model" quickstart starts from it: ``python tests/helpers/bn_cnn.py mymodel.keras``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def bn_softmax_cnn(path: Path, train: Path, seed: int = 1) -> Path:
    """Build, train (Adam 1e-3, 3 epochs, batch 32) and save the CNN at ``path``."""
    import keras

    keras.utils.set_random_seed(seed)
    data = np.load(train)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", name="conv1"),
        keras.layers.BatchNormalization(name="bn1"),
        keras.layers.ReLU(name="relu1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="fc1"),
        keras.layers.Dropout(0.3, name="drop"),
        keras.layers.Dense(10, activation="softmax", name="probs"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data["x"], data["y"], epochs=3, batch_size=32, verbose=0)
    model.save(path)
    return path


if __name__ == "__main__":
    import sys

    root = Path(__file__).resolve().parents[2]
    bn_softmax_cnn(Path(sys.argv[1]), root / "calibration" / "digits_train.npz")
