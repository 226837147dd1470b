"""Per-layer int8 sensitivity finds the deliberately fragile layer; auto mixed precision fixes it."""

from __future__ import annotations

import json

import pytest

from edgekit.errors import UsageError
from edgekit.models import make_int8_fragile
from edgekit.convert import selective
from edgekit.convert.sensitivity import analyze, auto_mixed, keep_float
from helpers.qat_support import copy_model
from helpers.support import run_edgekit


@pytest.fixture(scope="module")
def fragile(trained_cnn):
    return make_int8_fragile(copy_model(trained_cnn))


def test_fragile_layer_ranks_first_and_auto_mixed_keeps_it_float(fragile, digits):
    x, _, xv, yv = digits
    report = analyze(fragile, xv, yv, x[:200])
    assert report.int8_accuracy < report.float_accuracy - 0.005       # plain int8 really loses
    assert report.layers[0].layer == "fc1"
    assert report.layers[0].only_sqnr_db < min(s.only_sqnr_db for s in report.layers[1:])
    mixed = auto_mixed(fragile, xv, yv, x[:200], max_drop=0.5)
    assert "fc1" in mixed.kept_float and mixed.drop <= 0.5
    assert (selective.predict(mixed.tflite, xv).argmax(1) == yv).mean() == pytest.approx(mixed.accuracy)


def test_keep_float_leaves_the_named_layer_float(fragile, digits):
    x, _, xv, yv = digits
    tflite = keep_float(fragile, ["fc1"], x[:200])
    accuracy = (selective.predict(tflite, xv).argmax(1) == yv).mean()
    assert accuracy > 0.9


@pytest.mark.parametrize("call, message", [
    (lambda m, d: keep_float(m, ["nope"], d[0][:50]), "has no layer 'nope'"),
    (lambda m, d: auto_mixed(m, d[2], None, d[0][:50], 0.5), "needs labelled data"),
    (lambda m, d: auto_mixed(m, d[2], d[3], d[0][:50], -1.0), "MAX_DROP"),
])
def test_impossible_requests_fail_clearly(fragile, digits, call, message):
    with pytest.raises(UsageError, match=message):
        call(fragile, digits)


@pytest.mark.parametrize("kwargs, message", [
    (dict(quantize="float16", keep_float=(), auto_mixed=0.5), "use it with --quantize int8"),
    (dict(quantize="dynamic", keep_float=("fc1",), auto_mixed=None), "--keep-float mixes float"),
    (dict(quantize="int8", keep_float=("fc1",), auto_mixed=0.5), "exclude each other"),
])
def test_mixed_precision_rejects_impossible_requests(kwargs, message):
    from edgekit.cli.convert_mixed import check_mixed

    with pytest.raises(UsageError, match=message):
        check_mixed(io_type="float32", **kwargs)


@pytest.fixture(scope="module")
def fragile_file(fragile, tmp_path_factory):
    path = tmp_path_factory.mktemp("fragile") / "fragile.keras"
    fragile.save(path)
    return path


def test_sensitivity_cli_ranks_the_fragile_layer_first(fragile_file, digits_train, digits_val, tmp_path):
    result = run_edgekit("sensitivity", fragile_file, "--data", digits_val, "--calibration", digits_train, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["layers"][0]["layer"] == "fc1"
    bad = run_edgekit("sensitivity", tmp_path / "missing.keras", "--data", digits_val, "--calibration", digits_train)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "missing.keras" in bad.stderr


@pytest.mark.slow
def test_convert_auto_mixed_keeps_the_fragile_layer_float(fragile_file, digits_train, digits_val, tmp_path):
    out = tmp_path / "mixed.tflite"
    result = run_edgekit("convert", fragile_file, "-o", out, "--quantize", "int8", "--calibration", digits_train,
                         "--auto-mixed", "0.5", "--eval-data", digits_val, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["kept_float"] == ["fc1"] and summary["drop_points"] <= 0.5
    assert summary["full_int8_accuracy"] < summary["float_accuracy"] - 0.005
    assert out.stat().st_size == summary["size_bytes"] and summary["latency_ms_p50"] > 0


@pytest.mark.slow
def test_keep_float_with_per_tensor_scales(fragile_file, digits_train, digits_val, tmp_path):
    """The int8 kernels get one scale each; the kept layer stays float; accuracy is measured the same way."""
    from ai_edge_litert.interpreter import Interpreter

    out = tmp_path / "mixed_pt.tflite"
    result = run_edgekit("convert", fragile_file, "-o", out, "--quantize", "int8", "--calibration", digits_train,
                         "--auto-mixed", "0.5", "--eval-data", digits_val, "--per-tensor", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["per_tensor"] is True and summary["kept_float"] == ["fc1"] and summary["drop_points"] <= 0.5
    details = Interpreter(model_path=str(out)).get_tensor_details()
    int8_kernels = [t for t in details if t["dtype"].__name__ == "int8" and len(t["shape"]) >= 2
                    and t["name"].endswith(("MatMul", "convolution"))]
    assert len(int8_kernels) == 3  # conv1, conv2, logits; fc1 is float
    assert all(t["quantization_parameters"]["scales"].size == 1 for t in int8_kernels)
    assert any(t["dtype"].__name__ == "float32" and "fc1" in t["name"] and len(t["shape"]) == 2 for t in details)


@pytest.mark.parametrize("args, message", [
    (["--quantize", "int8", "--keep-float", "nope"], "has no layer 'nope'"),
    (["--quantize", "float16", "--auto-mixed", "0.5"], "use it with --quantize int8"),
])
def test_convert_mixed_errors_are_one_line(fragile_file, digits_train, tmp_path, args, message):
    out = tmp_path / "x.tflite"
    result = run_edgekit("convert", fragile_file, "-o", out, "--calibration", digits_train, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
