"""Fixtures of the core tier: the TFLite zoo (odd third-party models), built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tflite_zoo import build


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory) -> Path:
    """Where zoo models are built; ``EDGEKIT_TEST_ZOO=DIR`` keeps them across runs."""
    kept = os.environ.get("EDGEKIT_TEST_ZOO")
    return Path(kept) if kept else tmp_path_factory.mktemp("zoo")


@pytest.fixture(scope="session")
def zoo(zoo_dir):
    """``zoo("sparse_encoded") -> Path``: a zoo model, built on first use."""
    return lambda name: build(name, zoo_dir)
