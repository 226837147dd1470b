"""``edgekit convert`` on the real digits model and data: every mode, full-int8 proof, bad input."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from helpers.support import run_edgekit


def _accuracy(cli, model, data) -> float:
    result = cli("eval", model, "--data", data, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["accuracy"]


def _tensor_types(path):
    """(input dtypes, output dtypes, {op name: dtypes of its tensors}) as the runtime sees them."""
    interp = Interpreter(model_path=str(path))
    dtypes = {t["index"]: t["dtype"].__name__ for t in interp.get_tensor_details()}
    ops = {}
    for op in interp._get_ops_details():
        ops.setdefault(op["op_name"], set()).update(dtypes[i] for i in [*op["inputs"], *op["outputs"]] if i >= 0)
    return ([d["dtype"].__name__ for d in interp.get_input_details()],
            [d["dtype"].__name__ for d in interp.get_output_details()], ops)


@pytest.mark.slow
def test_int8_is_small_accurate_full_integer_and_deterministic(cli, digits_tflite, digits_model, digits_train,
                                                                 digits_val, tmp_path):
    float_path, int8_path = digits_tflite("none"), digits_tflite("int8")
    float_acc, int8_acc = _accuracy(cli, float_path, digits_val), _accuracy(cli, int8_path, digits_val)
    assert float_acc > 0.9
    assert abs(float_acc - int8_acc) <= 0.005, (float_acc, int8_acc)
    assert int8_path.stat().st_size <= 0.27 * float_path.stat().st_size
    inputs, outputs, ops = _tensor_types(int8_path)
    assert (inputs, outputs) == (["float32"], ["float32"])
    float_ops = {name for name, types in ops.items() if "float32" in types}
    assert float_ops == {"QUANTIZE", "DEQUANTIZE"}  # only at the model's float I/O
    # A separate process (the real console path): stdout is only the JSON, bytes are identical.
    again = tmp_path / "again.tflite"
    proc = run_edgekit("convert", digits_model, "-o", again, "--quantize", "int8", "--calibration", digits_train,
                       "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["calibration"] == {"source": str(digits_train), "samples": 200}
    assert report["sha256"] == hashlib.sha256(int8_path.read_bytes()).hexdigest() == \
        hashlib.sha256(again.read_bytes()).hexdigest()


@pytest.mark.parametrize("io_type", ["int8", "uint8"])
def test_integer_io(cli, digits_tflite, digits_val, io_type):
    path = digits_tflite("int8", io_type)
    inputs, outputs, ops = _tensor_types(path)
    assert inputs == outputs == [io_type]
    assert not any("float32" in types for types in ops.values())
    assert abs(_accuracy(cli, path, digits_val) - _accuracy(cli, digits_tflite("int8"), digits_val)) <= 0.01


@pytest.mark.parametrize("quantize, weight_type, max_ratio", [
    ("float16", "float16", 0.55), ("dynamic", "int8", 0.3), ("int16x8", "int8", 0.3)])
def test_other_modes_run_and_evaluate(cli, digits_tflite, digits_val, quantize, weight_type, max_ratio):
    path = digits_tflite(quantize)
    assert path.stat().st_size <= max_ratio * digits_tflite("none").stat().st_size
    assert weight_type in set().union(*_tensor_types(path)[2].values())
    if quantize == "int16x8":
        assert "int16" in _tensor_types(path)[2]["FULLY_CONNECTED"]
    assert abs(_accuracy(cli, path, digits_val) - _accuracy(cli, digits_tflite("none"), digits_val)) <= 0.01


def test_per_tensor_gives_each_weight_tensor_one_scale(cli, digits_model, digits_train, digits_val, tmp_path):
    out = tmp_path / "pt.tflite"
    result = cli("convert", digits_model, "-o", out, "--quantize", "int8", "--calibration", digits_train,
                 "--per-tensor", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["per_tensor"] is True
    interp = Interpreter(model_path=str(out))
    kernels = [t for t in interp.get_tensor_details() if t["dtype"].__name__ == "int8" and len(t["shape"]) >= 2]
    kernels = [t for t in kernels if t["name"].endswith(("MatMul", "convolution"))]
    assert len(kernels) == 4
    assert all(t["quantization_parameters"]["scales"].size == 1 for t in kernels)
    assert _accuracy(cli, out, digits_val) >= 0.9


def test_legacy_h5_and_human_output(cli, digits_model, tmp_path):
    import keras

    h5 = tmp_path / "digits.h5"
    keras.models.load_model(digits_model).save(h5)
    result = cli("convert", h5, "-o", tmp_path / "h5.tflite")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {tmp_path / 'h5.tflite'}: ")
    assert (tmp_path / "h5.tflite").stat().st_size > 100_000


def _lambda_model(fn):
    import keras

    inp = keras.Input((8, 8, 1), name="image")
    hidden = keras.layers.Dense(16)(keras.layers.Flatten()(inp))
    return keras.Model(inp, keras.layers.Dense(10)(keras.layers.Lambda(fn)(hidden)))


def test_op_without_int8_kernel_is_named(cli, digits_train, tmp_path):
    """SIN has no integer kernel: the converter keeps it float without a word; edgekit refuses."""
    import keras

    saved = tmp_path / "sin_model"  # a SavedModel directory (a .keras Lambda needs unsafe loading)
    _lambda_model(keras.ops.sin).export(saved, verbose=False)
    out = tmp_path / "sin.tflite"
    result = cli("convert", saved, "-o", out, "--quantize", "int8", "--calibration", digits_train)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"edgekit: error: {saved}: --quantize int8 left op(s) SIN in float (TFLite has no integer kernel "
        "for them); replace those layers, or use --quantize dynamic or float16")
    assert not out.exists() and list(tmp_path.glob("*.tflite*")) == []
    assert cli("convert", saved, "-o", out, "--quantize", "dynamic").exit_code == 0  # fine when not full-int8
    from edgekit.convert import convert_model, load_keras_model  # the pipeline's escape hatch

    rep = np.load(digits_train)["x"][:20]
    assert convert_model(load_keras_model(saved), quantize="int8", representative=rep, keep_float=["SIN"])


def test_cli_choices_match_the_library():
    from edgekit.cli import convert as cli_convert
    from edgekit.convert import IO_TYPES, QUANTIZE_MODES

    assert (cli_convert._QUANTIZE, cli_convert._IO_TYPES) == (QUANTIZE_MODES, IO_TYPES)


def test_op_without_tflite_kernel_is_named(cli, tmp_path):
    import keras

    saved = tmp_path / "erf_model"
    _lambda_model(keras.ops.erf).export(saved, verbose=False)
    result = cli("convert", saved, "-o", tmp_path / "erf.tflite")
    assert result.exit_code == 1
    assert "TensorFlow op(s) Erf have no TFLite builtin kernel" in result.stderr


def test_cli_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from edgekit.cli import cli; [cli.get_command(None, n) for n in ('convert', 'eval', 'demo')]; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'ai_edge_litert') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_bad_input(cli, digits_model, digits_train, tmp_path):
    out = tmp_path / "out.tflite"

    def fails(*args, code=2):
        result = cli("convert", *args)
        assert result.exit_code == code, result.output
        last = result.stderr.splitlines()[-1]
        assert last.startswith("edgekit: error: ") and result.stderr.count("edgekit: error") == 1
        assert "Traceback" not in result.output
        return last

    assert "nope.keras: no such file or directory" in fails(tmp_path / "nope.keras", "-o", out)
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    assert f"{text}: not a Keras model (a .keras file is a zip archive" in fails(text, "-o", out)
    assert "not a Keras model" in fails(digits_train, "-o", out)
    assert "without saved_model.pb is not a SavedModel" in fails(tmp_path, "-o", out)
    assert "--quantize int8 needs representative inputs: add --calibration SPEC" in fails(
        digits_model, "-o", out, "--quantize", "int8")
    assert "--io-type int8 needs --quantize int8" in fails(digits_model, "-o", out, "--io-type", "int8")
    assert "--per-tensor chooses the scales of full-integer weights; it needs --quantize int8" in fails(
        digits_model, "-o", out, "--quantize", "dynamic", "--per-tensor")
    wrong = tmp_path / "mnist.npy"
    np.save(wrong, np.zeros((10, 28, 28), np.float32))
    assert f"{wrong}: expected shape (8, 8, 1) per sample, found (28, 28)" in fails(
        digits_model, "-o", out, "--quantize", "int8", "--calibration", wrong)
    assert not out.exists()
