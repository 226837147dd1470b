"""``edgekit optimize --filters ... --qat``: smaller model, on the int8 grid, converts to int8."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.support import run_edgekit


@pytest.mark.slow
def test_optimize_prune_filters_then_qat(digits_model, digits_train, digits_val, tmp_path):
    import keras

    out, tflite = tmp_path / "small.keras", tmp_path / "small.tflite"
    result = run_edgekit("optimize", digits_model, "-o", out, "--train-data", digits_train, "--val-data", digits_val,
                         "--epochs", "2", "--learning-rate", "1e-3", "--filters", "0.5",
                         "--filters-layer-ratios", "fc1=0.75", "--qat", "--tflite", tflite, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [s["stage"] for s in summary["stages"]] == ["filters", "qat"]
    assert summary["accuracy_after"] > 0.9
    model = keras.saving.load_model(out)
    assert model.get_layer("conv2").kernel.shape[-1] == 32 and model.get_layer("fc1").kernel.shape[-1] == 32
    kernel = np.asarray(model.get_layer("conv2").kernel).reshape(-1, 32)
    steps = kernel / (np.abs(kernel).max(axis=0) / 127.0)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)     # QAT left kernels on the int8 grid
    assert summary["tflite"]["quantize"] == "int8" and tflite.stat().st_size > 0


def test_optimize_rejects_bad_filter_settings(digits_model, digits_train, tmp_path):
    for args, message in [(["--filters", "1"], "out of range"),
                          (["--filters-layer-ratios", "fc1"], "expected NAME=RATIO"),
                          (["--filters", "0.5", "--filters-layer-ratios", "nope=0.5"], "has no layer 'nope'")]:
        result = run_edgekit("optimize", digits_model, "-o", tmp_path / "x.keras", "--train-data", digits_train,
                             *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, args
        assert not (tmp_path / "x.keras").exists()
