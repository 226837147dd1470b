"""Fixtures of the optimize tier: the digits arrays, a trained digits model, TFLite weight reading."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits(digits_train, digits_val):
    """(x_train, y_train, x_val, y_val) of the shipped digits set."""
    train, val = np.load(digits_train), np.load(digits_val)
    return train["x"], train["y"], val["x"], val["y"]


@pytest.fixture
def trained(digits_model):
    """A fresh copy of the session's trained digits CNN (tests may change it)."""
    import keras

    return keras.saving.load_model(digits_model)


def tflite_weights(flatbuffer: bytes) -> dict[str, np.ndarray]:
    """The constant int8 tensors of rank >= 2 (the quantized kernels) of a .tflite, by name."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    weights = {}
    for detail in interpreter.get_tensor_details():
        if detail["dtype"] != np.int8 or len(detail["shape"]) < 2:
            continue
        try:
            weights[detail["name"]] = interpreter.get_tensor(detail["index"])
        except ValueError:  # activations have no data before inference
            continue
    return weights
