"""edgekit convert: the int8 guard on every calibrated conversion, and int4 storage verified on LiteRT."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.inspect import read_tflite
from helpers.support import run_edgekit


@pytest.mark.slow
def test_int4_storage_halves_a_grid_model_and_reports_agreement(storage_models, digits_train, digits_val, tmp_path):
    int8, int4 = tmp_path / "int8.tflite", tmp_path / "int4.tflite"
    common = ("--quantize", "int8", "--calibration", digits_train, "--per-tensor", "--json")
    plain = json.loads(run_edgekit("convert", storage_models["grid"], "-o", int8, *common).stdout)
    done = run_edgekit("convert", storage_models["grid"], "-o", int4, *common, "--storage", "int4")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["storage"] == "int4" and result["int8_size_bytes"] == plain["size_bytes"]
    assert result["size_bytes"] == int4.stat().st_size <= 0.55 * plain["size_bytes"]
    assert all(t["int4"] and t["max_error_steps"] <= 0.5 for t in result["tensors"])
    float_check, int4_check = result["agreement"]
    assert float_check["reference"] == "float" and float_check["top1"] >= 0.9 and float_check["ok"]
    assert int4_check["reference"] == "int8" and int4_check["top1"] >= 0.99 and int4_check["max_steps"] <= 8
    assert plain["agreement"][0]["reference"] == "float" and len(plain["agreement"]) == 1
    kernels = [t for t in read_tflite(int4).main.tensors if t.is_constant and len(t.shape) >= 2]
    assert kernels and all(t.dtype == "int4" for t in kernels)
    assert all(t.data.min() >= -8 and t.data.max() <= 7 for t in kernels)
    accuracy = [json.loads(run_edgekit("eval", path, "--data", digits_val, "--json").stdout)["accuracy"]
                for path in (int8, int4)]
    assert abs(accuracy[0] - accuracy[1]) <= 0.003


def test_int4_refuses_weights_off_the_grid_and_writes_nothing(storage_models, digits_train, tmp_path):
    out = tmp_path / "dense.tflite"
    done = run_edgekit("convert", storage_models["dense"], "-o", out, "--quantize", "int8", "--calibration",
                       digits_train, "--storage", "int4")
    assert done.returncode == 5
    assert done.stderr.strip().splitlines()[-1].startswith("edgekit: error: ")
    assert "no int8 kernel fits the int4 grid" in done.stderr and "--cluster-int4-grid" in done.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tflite*"))


@pytest.mark.slow
def test_int8_that_disagrees_with_the_float_model_is_refused(storage_models, digits_train, tmp_path):
    import keras

    from edgekit.models import make_int8_fragile

    fragile = tmp_path / "fragile.keras"
    make_int8_fragile(keras.models.load_model(storage_models["dense"])).save(fragile)
    out = tmp_path / "fragile.tflite"
    done = run_edgekit("convert", fragile, "-o", out, "--quantize", "int8", "--calibration", digits_train)
    assert done.returncode == 5, done.stderr
    assert "disagree with the float reference on litert" in done.stderr and "top-1 agreement" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("edgekit: error: ") and not out.exists()


def test_storage_needs_full_integer(storage_models, tmp_path):
    done = run_edgekit("convert", storage_models["grid"], "-o", tmp_path / "x.tflite", "--storage", "int4")
    assert done.returncode == 2 and "--storage int4" in done.stderr and "--quantize int8" in done.stderr
    done = run_edgekit("convert", storage_models["grid"], "-o", tmp_path / "x.tflite", "--quantize", "int8",
                       "--calibration", "x.npz", "--storage", "lut")
    assert done.returncode == 2 and "choose from int8, int4, sparse" in done.stderr


def test_regression_outputs_are_compared_in_steps_without_top1(digits_train, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    x = np.load(digits_train)["x"]
    model = keras.Sequential([keras.Input((8, 8, 1), name="image"), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile(loss="mse")
    model.fit(x, x.reshape(len(x), -1)[:, :3] * 2.0, epochs=2, verbose=0)
    model.save(tmp_path / "regressor.keras")
    done = run_edgekit("convert", tmp_path / "regressor.keras", "-o", tmp_path / "r.tflite", "--quantize", "int8",
                       "--calibration", digits_train, "--json")
    assert done.returncode == 0, done.stderr
    (check,) = json.loads(done.stdout)["agreement"]
    assert check["top1"] is None and check["reference"] == "float" and 0 < check["max_steps"] < 10
