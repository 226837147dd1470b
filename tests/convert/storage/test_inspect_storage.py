"""edgekit inspect: int4 tensors, TFLM LUT metadata, sparse tensors; gzip size and bits per weight."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from edgekit.convert.storage.int4 import to_int4
from edgekit.convert.storage.lut import compress, plan
from edgekit.inspect import inspect_model
from helpers.support import run_edgekit


def test_inspect_reports_gzip_entropy_and_int4(storage_models, tmp_path):
    int8 = storage_models["grid_int8"].read_bytes()
    path = tmp_path / "int4.tflite"
    path.write_bytes(to_int4(int8, "grid")[0])
    report = json.loads(run_edgekit("inspect", path, "--json").stdout)
    assert report["gzip_bytes"] == len(gzip.compress(path.read_bytes(), 9))
    assert set(report["storage"]) == {"int4"}
    kernels = [w for w in report["weights"] if len(w["shape"]) >= 2]
    assert kernels and all(w["dtype"] == "int4" and w["stored_bits"] == 4.0 for w in kernels)
    assert all(w["unique_values"] <= 16 and 0 < w["entropy_bits"] <= 4 for w in kernels)
    plain = inspect_model(int8)
    assert plain.storage == {"int8": plain.storage["int8"]} and plain.gzip_bytes < len(int8)
    # 80% zeros and <= 15 levels: an ideal coder needs far fewer than the 8 bits int8 stores
    assert 0.5 < plain.kernel_entropy_bits < 2.5
    text = run_edgekit("inspect", storage_models["grid_int8"]).stdout
    assert "gzip -9" in text and "kernel entropy" in text and "bits per weight" in text


def test_inspect_reads_lut_metadata(storage_models, tmp_path):
    int8 = storage_models["ternary_int8"].read_bytes()
    records = plan(int8)
    report = inspect_model(compress(int8, records, "ternary"))
    assert set(report.storage) == {"lut"} and len(report.lut_tensors) == len(records)
    for lut, record in zip(report.lut_tensors, records):
        assert lut["bits"] == record["bits"] <= 2 and lut["axis"] == 0
        assert lut["values_per_table"] == record["values_per_channel"] == 3
    stored = sum(t["stored_bytes"] for t in report.lut_tensors) * 8
    assert stored / sum(t["elements"] for t in report.lut_tensors) < 2.5   # 2-bit indices + small tables
    text = run_edgekit("inspect", storage_models["ternary_int8"]).stdout
    assert "look-up-table" not in text
    lut_file = tmp_path / "lut.tflite"
    lut_file.write_bytes(compress(int8, records, "ternary"))
    measured = json.loads(run_edgekit("inspect", lut_file, "--arena", "--json").stdout)
    plain = json.loads(run_edgekit("inspect", storage_models["ternary_int8"], "--arena", "--json").stdout)
    assert measured["arena"]["method"] == "tflite-micro" and measured["arena"]["bytes"] > plain["arena"]["bytes"]
    assert "TFLM look-up-table kernels" in run_edgekit("inspect", lut_file, "--arena").stdout


@pytest.mark.slow
def test_optimize_int4_grid_makes_int4_storage_exact(storage_models, digits_train, tmp_path):
    optimized = tmp_path / "clustered.keras"
    done = run_edgekit("optimize", storage_models["dense"], "-o", optimized, "--train-data", digits_train,
                       "--cluster", "16", "--cluster-int4-grid", "--epochs", "1")
    assert done.returncode == 0, done.stderr
    import keras

    for layer in keras.models.load_model(optimized).layers:
        if layer.weights:
            kernel = np.asarray(layer.weights[0])
            step = np.abs(kernel).max() / 7
            assert np.allclose(kernel / step, np.round(kernel / step), atol=1e-3)
    out = tmp_path / "int4.tflite"
    done = run_edgekit("convert", optimized, "-o", out, "--quantize", "int8", "--calibration", digits_train,
                       "--storage", "int4", "--json")
    assert done.returncode == 0, done.stderr
    tensors = json.loads(done.stdout)["tensors"]
    assert all(t["int4"] for t in tensors), tensors
