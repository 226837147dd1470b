"""Fixtures shared by every test tier: the CLI, the shipped digits data, a trained model, its TFLite files and
the TFLite zoo (odd third-party models), each built once per session when a test asks for it."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers.support import ROOT, run_edgekit  # noqa: F401  (re-exported for tests)
from helpers.tflite_zoo import build
from helpers.trained_models import digits_classifier, trained

pytest_plugins = ["helpers.digits_tflite", "helpers.agent_support"]  # tflite_models, cxx; bench_models

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Subprocesses (``python -m edgekit``, the agent) must import this checkout's edgekit.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
# A suite started as a background job (``cmd &``, nohup, some CI runners) inherits SIGINT ignored, and
# so would every edgekit the tests start: the Ctrl-C tests would send a signal nobody can receive.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def digits_train() -> Path:
    return ROOT / "calibration" / "digits_train.npz"


@pytest.fixture(scope="session")
def digits_val() -> Path:
    return ROOT / "calibration" / "digits_val.npz"


@pytest.fixture(scope="session")
def digits(digits_train, digits_val):
    """(x_train, y_train, x_val, y_val) of the shipped digits set."""
    import numpy as np

    train, val = np.load(digits_train), np.load(digits_val)
    return train["x"], train["y"], val["x"], val["y"]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``edgekit ARGS...`` in-process with click's runner; returns the click Result.

    The results database is redirected into the test's tmp dir.
    """
    from edgekit.cli import cli as group

    monkeypatch.setenv("EDGEKIT_RESULTS_DB", str(tmp_path / "results.db"))

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(group, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory, digits_train) -> Path:
    """The digits CNN trained for 8 epochs on the shipped data, saved as ``.keras``.

    Trained once (see trained_models) and copied, so no test can change the cached file."""
    path = tmp_path_factory.mktemp("models") / "digits.keras"
    shutil.copyfile(trained(digits_classifier, digits_train, epochs=8), path)
    return path


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


@pytest.fixture(scope="session")
def trained_cnn(digits_model):
    """The session's trained digits CNN, loaded; tests clone it before changing it."""
    import keras

    return keras.saving.load_model(digits_model)
