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


def invoke_cli(*args):
    """``edgekit ARGS...`` in-process, for session fixtures (the ``cli`` fixture is per test)."""
    from click.testing import CliRunner

    from edgekit.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="session")
def digits_tflite(digits_model, digits_train, tmp_path_factory):
    """``digits_tflite(quantize, io_type) -> Path``: ``edgekit convert`` of the digits model, once each."""
    out, made = tmp_path_factory.mktemp("tflite"), {}

    def convert(quantize: str = "none", io_type: str = "float32") -> Path:
        if (quantize, io_type) not in made:
            path = out / f"digits_{quantize}_{io_type}.tflite"
            calibration = ["--calibration", digits_train] if quantize in ("int8", "int16x8") else []
            result = invoke_cli("convert", digits_model, "-o", path, "--quantize", quantize,
                                "--io-type", io_type, *calibration)
            assert result.exit_code == 0, result.output
            made[quantize, io_type] = path
        return made[quantize, io_type]

    return convert
