"""Fixtures of the optimize tier: a fresh copy of the trained digits model."""

from __future__ import annotations

import pytest


@pytest.fixture
def trained(digits_model):
    """A fresh copy of the session's trained digits CNN (tests may change it)."""
    import keras

    return keras.saving.load_model(digits_model)
