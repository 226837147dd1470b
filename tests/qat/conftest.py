"""Fixtures for QAT / filter pruning / sensitivity tests: the digits data and a trained CNN."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits(digits_train, digits_val):
    train, val = np.load(digits_train), np.load(digits_val)
    return train["x"], train["y"], val["x"], val["y"]


@pytest.fixture(scope="session")
def trained_cnn(digits):
    """A digits CNN trained for 6 epochs; tests clone it before changing it."""
    import keras

    from edgekit.models import compile_classifier, digits_cnn

    keras.utils.set_random_seed(0)
    model = compile_classifier(digits_cnn())
    model.fit(digits[0], digits[1], epochs=6, batch_size=32, verbose=0)
    return model

