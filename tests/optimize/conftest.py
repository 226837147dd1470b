"""Fixtures of the optimize tier: the digits arrays, a trained digits model."""

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

