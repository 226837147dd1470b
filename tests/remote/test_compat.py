"""The model-vs-target check that runs before any connection (quantization, Edge TPU demands)."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.inspect import read_tflite
from edgekit.remote.compat import check_model_for_target, quantization_of
from edgekit.targets import load_target


@pytest.fixture(scope="module")
def quantized(tmp_path_factory, digits_train):
    """Tiny digits models: dynamic-range, full-int8 with float I/O, full-int8 with int8 I/O."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    data = np.load(digits_train)["x"][:32]
    out = tmp_path_factory.mktemp("quantized")

    def convert(name, full_int, io=None):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if full_int:
            converter.representative_dataset = lambda: ([x[None]] for x in data)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if io:
            converter.inference_input_type = converter.inference_output_type = io
        path = out / f"{name}.tflite"
        path.write_bytes(converter.convert())
        return path

    return {"dynamic": convert("dynamic", False), "int8_float_io": convert("int8_float_io", True),
            "int8": convert("int8", True, tf.int8)}


def test_quantization_is_recognised(quantized, tflite_models):
    assert quantization_of(read_tflite(tflite_models["a"])) == "none"
    assert quantization_of(read_tflite(quantized["dynamic"])) == "dynamic"
    assert quantization_of(read_tflite(quantized["int8"])) == "int8"


def test_coral_accepts_only_full_int8_with_integer_io(quantized, tflite_models):
    coral = load_target("coral-usb")
    check_model_for_target(quantized["int8"], coral)
    with pytest.raises(UsageError, match="a 'none' model, but target coral-usb accepts int8"):
        check_model_for_target(tflite_models["a"], coral)
    with pytest.raises(UsageError, match="needs int8/uint8 inputs and outputs, this model has float32"):
        check_model_for_target(quantized["int8_float_io"], coral)
    check_model_for_target(quantized["dynamic"], load_target("rpi4"))


def test_deploy_refuses_incompatible_model_before_connecting(cli, tflite_models):
    result = cli("deploy", tflite_models["a"], "--host", "127.0.0.1:1", "--target", "coral-usb")
    assert result.exit_code == 2
    assert "coral-usb accepts int8" in result.stderr
