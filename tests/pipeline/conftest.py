"""Fixtures of the pipeline tier: small real .tflite models (float32 and full-int8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest


def _convert(quantize: str, calibration: Path) -> bytes:
    import keras
    import tensorflow as tf

    from edgekit.models import digits_cnn

    keras.utils.set_random_seed(0)
    converter = tf.lite.TFLiteConverter.from_keras_model(digits_cnn())
    if quantize == "int8":
        x = np.load(calibration)["x"][:64]
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[i:i + 1]] for i in range(len(x)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.fixture(scope="session")
def tflite_models(tmp_path_factory, digits_train) -> dict[str, Path]:
    """The digits CNN (untrained weights: these tests look at structure, not accuracy) as float32 and int8."""
    out = tmp_path_factory.mktemp("tflite")
    paths = {}
    for quantize, name in (("none", "float32"), ("int8", "int8")):
        paths[name] = out / f"digits_{name}.tflite"
        paths[name].write_bytes(_convert(quantize, digits_train))
    return paths


@pytest.fixture(scope="session")
def cxx() -> str:
    """The system C++ compiler (scripts/system-packages.txt installs gcc/g++)."""
    for name in ("g++", "c++", "clang++"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no C++ compiler on PATH: install g++ (scripts/system-packages.txt)")
