"""Session fixtures of the pipeline and export tiers: small real .tflite digits models and a C++ compiler."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest


def _convert(model, quantize: str, calibration: Path, io_type: str) -> bytes:
    from edgekit.convert import convert_model

    x = np.load(calibration)["x"][:64]
    return convert_model(model, quantize=quantize, representative=x if quantize == "int8" else None,
                         io_type=io_type)


def _digits(batch: int | None = None, hard_swish: bool = False):
    """The digits CNN (untrained weights: these tests look at structure, not accuracy)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(batch_shape=(batch, 8, 8, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    if hard_swish:  # HARD_SWISH is not on the Edge TPU's list of supported ops
        x = keras.layers.Activation("hard_swish")(x)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="session")
def tflite_models(tmp_path_factory, digits_train) -> dict[str, Path]:
    """Small CNNs as .tflite: float32 and full-int8 (dynamic/static batch, int8/float I/O), one with HARD_SWISH."""
    from edgekit.models import digits_cnn

    import keras

    out = tmp_path_factory.mktemp("tflite")
    keras.utils.set_random_seed(0)
    builds = {
        "float32": (digits_cnn(), "none", "float32"),
        "int8": (digits_cnn(), "int8", "int8"),
        "int8_static": (_digits(batch=1), "int8", "int8"),
        "int8_float_io": (_digits(batch=1), "int8", "float32"),
        "float32_static": (_digits(batch=1), "none", "float32"),
        "int8_hard_swish": (_digits(batch=1, hard_swish=True), "int8", "int8"),
    }
    paths = {}
    for name, (model, quantize, io_type) in builds.items():
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(_convert(model, quantize, digits_train, io_type))
    return paths


@pytest.fixture(scope="session")
def cxx() -> str:
    """The system C++ compiler (scripts/system-packages.txt installs gcc/g++)."""
    for name in ("g++", "c++", "clang++"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no C++ compiler on PATH: install g++ (scripts/system-packages.txt)")
