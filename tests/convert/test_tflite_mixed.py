"""``edgekit convert MODEL.tflite --auto-mixed MAX_DROP`` and ``--storage int4``: per-op choices on a .tflite source.

Real parts: the zoo's float digits CNN, AI Edge Quantizer, LiteRT running every file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import tflite_zoo

pytest.importorskip("ai_edge_quantizer")


def _accuracy(path, val) -> float:
    from edgekit.convert.runners import run_model

    data = np.load(val)
    scores = run_model("litert", path.read_bytes(), [data["x"].astype(np.float32)], "test")[0]
    return float(np.mean(scores.reshape(len(data["y"]), -1).argmax(1) == data["y"]))


def _float_weight_outputs(path) -> set[str]:
    """Output tensors of the ops that still read float kernels."""
    from edgekit.inspect import read_tflite

    main = read_tflite(path).main
    return {main.tensors[op.outputs[0]].name for op in main.operators
            if any(main.tensors[i].is_constant and main.tensors[i].dtype == "float32" and len(main.tensors[i].shape) >= 2
                   for i in op.inputs if i >= 0)}


def test_auto_mixed_keeps_the_most_recovering_ops_float_until_the_drop_fits(cli, zoo, digits_val, tmp_path):
    out = tmp_path / "mixed.tflite"
    # int4 per-tensor weights lose accuracy on the digits CNN: something has to stay float for a 0.3-point bound
    result = cli("convert", zoo("float_digits"), "-o", out, "--quantize", "int8", "--weights", "int4", "--per-tensor",
                 "--calibration", digits_val, "--auto-mixed", "0.3", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["full_int8_accuracy"] < summary["float_accuracy"] - 0.003   # the bound was not met without it
    assert summary["kept_float"] and summary["within_bound"] and summary["drop_points"] <= 0.3
    assert set(summary["kept_float"]) <= _float_weight_outputs(out)   # AEQ's per-op override reached the file
    assert summary["accuracy"] == pytest.approx(_accuracy(out, digits_val), abs=1e-4)   # what was measured is written
    assert summary["verification"]["ok"] and summary["size_bytes"] == out.stat().st_size
    text = cli("convert", zoo("float_digits"), "-o", tmp_path / "again.tflite", "--quantize", "int8", "--weights",
               "int4", "--per-tensor", "--calibration", digits_val, "--auto-mixed", "0.3")
    assert text.exit_code == 0, text.output
    assert f"int8 (int4 weights) with float layers: {', '.join(summary['kept_float'])}; accuracy" in text.stdout
    assert (tmp_path / "again.tflite").read_bytes() == out.read_bytes()


def test_op_ranking_puts_the_op_whose_float_recovers_most_first(zoo, digits_val):
    from edgekit.convert.tflite_source import calibration as cal
    from edgekit.convert.tflite_source import recipes, sensitivity, source

    prepared = source.prepare(zoo("float_digits").read_bytes(), "digits")
    inputs = cal.signature_inputs(prepared.flatbuffer, prepared.signature)
    x, labels, _ = cal.load_inputs(digits_val, inputs, None)
    ranking = sensitivity.rank_ops(sensitivity.Measurement(prepared, recipes.get_mode("int8", "int4"), x, x, labels,
                                                           "digits", per_tensor=True))
    assert [op.opcode for op in ranking.ops].count("CONV_2D") == 2 and len(ranking.ops) == 4
    accuracies = [op.all_but_accuracy for op in ranking.ops]
    assert accuracies == sorted(accuracies, reverse=True) and accuracies[0] > ranking.quantized_accuracy


@pytest.fixture(scope="module")
def grid_digits(tmp_path_factory):
    """The zoo's digits CNN with every kernel on a 15-level grid (as clustering with int4_grid leaves it), as a
    float .tflite: its int8 kernels fit int4 storage."""
    import tensorflow as tf

    model = tflite_zoo._trained_digits_cnn()
    for layer in model.layers:
        if layer.get_weights():
            kernel, *rest = layer.get_weights()
            step = np.abs(kernel).max() / 7
            layer.set_weights([np.clip(np.round(kernel / step), -7, 7) * step, *rest])
    path = tmp_path_factory.mktemp("grid") / "grid_digits.tflite"
    path.write_bytes(tflite_zoo._convert(tf.lite.TFLiteConverter.from_keras_model(model)))
    return path


def test_int4_storage_of_a_tflite_source_is_verified_against_its_int8_file(cli, grid_digits, digits_val, tmp_path):
    from edgekit.inspect import read_tflite

    int8, int4 = tmp_path / "int8.tflite", tmp_path / "int4.tflite"
    base = ("--quantize", "int8", "--calibration", digits_val)
    assert cli("convert", grid_digits, "-o", int8, *base).exit_code == 0
    result = cli("convert", grid_digits, "-o", int4, *base, "--storage", "int4")
    assert result.exit_code == 0, result.output
    assert int4.stat().st_size < 0.7 * int8.stat().st_size
    assert f"storage int4: {int4.stat().st_size / int8.stat().st_size:.1%} of the int8 file" in result.stdout
    assert "verified on litert against it: max" in result.stdout
    assert sum(t.dtype == "int4" for t in read_tflite(int4).main.tensors) >= 3
    assert abs(_accuracy(int4, digits_val) - _accuracy(int8, digits_val)) <= 0.01
