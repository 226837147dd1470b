"""Fixtures for QAT / filter pruning / sensitivity tests: the trained digits CNN as a model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def trained_cnn(digits_model):
    """The session's trained digits CNN, loaded; tests clone it before changing it."""
    import keras

    return keras.saving.load_model(digits_model)
