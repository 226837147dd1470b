"""Helpers for tests of every tier (import as ``from support import ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_edgekit(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m edgekit ARGS...`` as a real subprocess (exit codes, stdout/stderr split)."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, **kwargs,
    )


def unavailable(reason: str) -> None:
    """Skip for a missing prerequisite, except under scripts/test.sh as root (EDGEKIT_TESTS_STRICT=1),
    which installed the prerequisites: there a missing one is a failure, never a silent skip."""
    import os

    import pytest

    if os.environ.get("EDGEKIT_TESTS_STRICT") == "1":
        pytest.fail(f"prerequisite missing although scripts/test.sh installed them: {reason}")
    pytest.skip(reason)


def isolate_ssh_client(tmp_path: Path, monkeypatch) -> Path:
    """HOME in a temp dir (no real ~/.ssh), no SSH agent, results DB in the temp dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("EDGEKIT_RESULTS_DB", str(tmp_path / "results.db"))
    monkeypatch.chdir(tmp_path)
    return home


def tflite_weights(flatbuffer: bytes) -> dict:
    """The constant int8 tensors of rank >= 2 (the quantized kernels) of a .tflite, by name."""
    import numpy as np
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


def one_error_line(result) -> str:
    """The one error line of a failed command, its last line (progress may come before; no usage, no traceback)."""
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("edgekit: error: ")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr and "Usage:" not in result.stderr, result.stderr
    return errors[0][len("edgekit: error: "):]
