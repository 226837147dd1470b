"""Session fixtures for the agent/bench/history tests: tiny real TFLite models.

Imported by the test modules (``from agent_models import ...``) rather than living in
``tests/core/conftest.py``, which the other core engineers also use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgekit.agent.runner import AGENT_PATH


def _convert(model_or_fn, *, int8_data: np.ndarray | None = None, custom_ops: bool = False) -> bytes:
    import tensorflow as tf

    if callable(getattr(model_or_fn, "get_concrete_function", None)):
        converter = tf.lite.TFLiteConverter.from_concrete_functions([model_or_fn.get_concrete_function()],
                                                                    model_or_fn)
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(model_or_fn)
    converter.allow_custom_ops = custom_ops
    if int8_data is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[None]] for x in int8_data)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, digits_train) -> dict[str, Path]:
    """``float32`` and full-``int8`` digits CNNs (int8 calibrated on the shipped digits) and
    ``custom``: a model whose MatrixInverse op no TFLite runtime ships (a CUSTOM op)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])

    @tf.function(input_signature=[tf.TensorSpec([1, 3, 3], tf.float32)])
    def inverse(x):
        return tf.linalg.inv(x) + 1.0

    calibration = np.load(digits_train)["x"][:64]
    out = tmp_path_factory.mktemp("tflite")
    models = {
        "float32": _convert(model),
        "int8": _convert(model, int8_data=calibration),
        "custom": _convert(inverse, custom_ops=True),
    }
    paths = {}
    for name, data in models.items():
        paths[name] = out / f"tiny_{name}.tflite"
        paths[name].write_bytes(data)
    return paths


def run_agent(*args: str, env: dict | None = None, timeout: float = 120) -> tuple[int, dict, str]:
    """Run the agent file as a device would: (exit code, the one JSON object, stderr)."""
    proc = subprocess.run([sys.executable, str(AGENT_PATH), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"agent must print exactly one line of JSON, got: {proc.stdout!r}"
    return proc.returncode, json.loads(lines[0]), proc.stderr


# What importing tflite-runtime 2.14 (built against numpy 1) does under numpy 2: numpy prints
# its warning, then the C extension's import fails.
NUMPY2_BREAKAGE = """
import sys
print("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.x as it may crash.")
sys.stderr.write("AttributeError: _ARRAY_API not found\\n")
raise ImportError("numpy.core.multiarray failed to import")
"""
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
