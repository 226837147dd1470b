"""The model-vs-target check that runs before any connection (quantization, Edge TPU demands)."""

from __future__ import annotations

from pathlib import Path

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


def test_quantization_is_recognised(quantized, remote_models):
    assert quantization_of(read_tflite(remote_models["a"])) == "none"
    assert quantization_of(read_tflite(quantized["dynamic"])) == "dynamic"
    assert quantization_of(read_tflite(quantized["int8"])) == "int8"


def edgetpu_compiled(int8_model: Path, out: Path) -> Path:
    """What edgetpu_compiler makes of a full-int8 model, by structure: its int8 input and output around one
    ``edgetpu-custom-op`` holding the compiled graph (opaque bytes here; no runtime on this host runs it)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    source = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(int8_model.read_bytes(), 0))
    graph = source.subgraphs[0]
    inputs, outputs = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    inputs.buffer = outputs.buffer = 0
    compiled = fb.SubGraphT()
    compiled.tensors, compiled.inputs, compiled.outputs, compiled.name = [inputs, outputs], [0], [1], "main"
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs, op.customOptions = 0, [0], [1], list(b"edgetpu executable")
    compiled.operators = [op]
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    code.customCode, code.version = "edgetpu-custom-op", 1
    model = fb.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [compiled], [fb.BufferT()]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = out / f"{int8_model.stem}_edgetpu.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


def coral_refusal(path: Path) -> str:
    with pytest.raises(UsageError) as info:
        check_model_for_target(path, load_target("coral-usb"))
    return str(info.value)


def test_coral_names_every_fix_in_one_message(quantized, remote_models, tmp_path):
    head = "target coral-usb runs models on libedgetpu.so.1, and this one cannot run there: "
    float_model = remote_models["a"]
    assert coral_refusal(float_model) == (
        f"{float_model}: {head}it is a 'none' model (needs int8); its inputs/outputs are float32 (needs int8/uint8); "
        "it is not compiled for it (no edgetpu-custom-op op). Fix: edgekit convert MODEL.keras -o "
        f"{float_model.name} --quantize int8 --calibration SPEC --io-type int8, then edgetpu_compiler "
        f"{float_model.name}, then deploy the file it writes")
    message = coral_refusal(quantized["int8_float_io"])
    assert "its inputs/outputs are float32" in message and (
        f"Fix: edgekit convert MODEL.keras -o {quantized['int8_float_io'].name} --quantize int8 --calibration SPEC "
        "--io-type int8, then") in message
    assert coral_refusal(quantized["int8"]) == (
        f"{quantized['int8']}: {head}it is not compiled for it (no edgetpu-custom-op op). "
        "Fix: edgetpu_compiler int8.tflite, then deploy the file it writes")
    check_model_for_target(edgetpu_compiled(quantized["int8"], tmp_path), load_target("coral-usb"))
    check_model_for_target(quantized["dynamic"], load_target("rpi4"))


def test_deploy_refuses_incompatible_model_before_connecting(cli, remote_models):
    result = cli("deploy", remote_models["a"], "--host", "127.0.0.1:1", "--target", "coral-usb")
    assert result.exit_code == 2
    assert "target coral-usb runs models on libedgetpu.so.1" in result.stderr and "edgetpu_compiler" in result.stderr
