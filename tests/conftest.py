"""Fixtures shared by every test tier: the CLI, the shipped digits data, a trained model."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import ROOT, run_edgekit  # noqa: F401  (re-exported for tests)
from trained_models import digits_classifier, trained

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
