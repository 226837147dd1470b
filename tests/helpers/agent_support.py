"""Helpers for the agent/bench/history tests: models by role, running the agent file,
broken ``tflite_runtime`` installs (imported as ``from helpers.agent_support import ...``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgekit.agent.runner import AGENT_PATH


@pytest.fixture(scope="session")
def bench_models(zoo) -> dict[str, Path]:
    """Zoo models by role: ``float32`` and full-``int8`` digits CNNs (int8 calibrated on the
    shipped digits) and ``custom``, whose BesselI1e op no TFLite runtime ships."""
    return {"float32": zoo("float_digits"), "int8": zoo("int8_digits"), "custom": zoo("custom_op")}


def run_agent(*args: str, env: dict | None = None, timeout: float = 120) -> tuple[int, dict, str]:
    """Run the agent file as a device would: (exit code, the one JSON object, stderr)."""
    proc = subprocess.run([sys.executable, str(AGENT_PATH), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"agent must print exactly one line of JSON, got: {proc.stdout!r}"
    return proc.returncode, json.loads(lines[0]), proc.stderr


# tflite-runtime 2.14 (built against numpy 1) under numpy 2, as observed with the real
# wheel on Python 3.9: the import succeeds after numpy's warning, creating an interpreter
# fails with a SystemError caused by numpy's ImportError.
NUMPY2_BREAKAGE = """
print("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.x as it may crash.")


class Interpreter:
    def __init__(self, *args, **kwargs):
        try:
            raise ImportError("numpy.core.multiarray failed to import")
        except ImportError as exc:
            raise SystemError("<built-in method CreateWrapperFromBuffer of PyCapsule object> "
                              "returned a result with an error set") from exc


def load_delegate(library, options=None):
    raise ValueError("Failed to load delegate from " + library)
"""
# A broken install whose import itself raises.
IMPORT_FAILS = "raise ImportError('libtensorflowlite_c.so: cannot open shared object file')\n"
# A runtime whose native code dereferences NULL: a real SIGSEGV in the agent process.
SEGFAULT = "import ctypes\nctypes.string_at(0)\n"


def fake_runtime(root: Path, interpreter_body: str) -> Path:
    """A ``tflite_runtime`` package under ``root`` (put it on PYTHONPATH) whose
    ``tflite_runtime.interpreter`` import runs ``interpreter_body``."""
    package = root / "tflite_runtime"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('__version__ = "2.14.0"\n')
    (package / "interpreter.py").write_text(interpreter_body)
    return root
