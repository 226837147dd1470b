"""inspect_model: weight statistics checked against brute force, full-integer, JSON schema."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.inspect import inspect_model, read_tflite
from edgekit.inspect.weights import nm_stats, unique_per_channel


def brute_nm(nonzero: np.ndarray, n: int, m: int) -> tuple[int, int, int]:
    """(groups, groups with <= n non-zeros, max non-zeros) with plain loops."""
    rows = nonzero.reshape(-1, nonzero.shape[-1])
    groups = ok = most = 0
    for row in rows:
        for start in range(0, len(row), m):
            count = int(row[start : start + m].sum())
            groups, ok, most = groups + 1, ok + (count <= n), max(most, count)
    return groups, ok, most


def by_name(report, name):
    (found,) = [w for w in report.weights if w.name == name]
    return found


def weight_of(report, opcode, nth=0, slot=1):
    """The stats of input ``slot`` of the ``nth`` ``opcode`` operator (slot 1: its kernel)."""
    graph = report.model.main
    tensor = [op for op in graph.operators if op.opcode == opcode][nth].inputs[slot]
    densify = [op for op in graph.operators if op.opcode == "DENSIFY" and op.outputs[0] == tensor]
    tensor = densify[0].inputs[0] if densify else tensor  # sparse weights reach their op through DENSIFY
    (found,) = [w for w in report.weights if w.tensor == tensor]
    assert f"{opcode}:{slot}" in found.used_by
    return found


def test_nm_stats_match_brute_force():
    rng = np.random.default_rng(0)
    for shape in [(6, 3, 3, 8), (10, 32), (4, 7), (5, 1)]:
        nonzero = rng.random(shape) < 0.4
        for n, m in [(2, 4), (1, 4), (4, 8), (1, 2)]:
            stats = nm_stats(nonzero, n, m)
            assert (stats.groups, stats.groups_ok, stats.max_nonzeros) == brute_nm(nonzero, n, m)


def test_unique_per_channel_matches_brute_force():
    values = np.random.default_rng(1).integers(-3, 4, size=(5, 3, 3, 4)).astype(np.int8)
    for axis in (0, 3):
        expected = [len(np.unique(np.take(values, c, axis=axis))) for c in range(values.shape[axis])]
        assert unique_per_channel(values, axis).tolist() == expected


def test_structured_and_block_pruning_show_in_the_sparse_model(zoo):
    """The zoo prunes logits 2:4 and fc1 in 1x4 blocks (1 in 5 kept), then stores them sparse."""
    report = inspect_model(zoo("sparse_encoded"), nm=((2, 4), (1, 4)))
    logits = weight_of(report, "FULLY_CONNECTED", 1)
    two_four = {s.pattern: s for s in logits.nm}["2:4"]
    assert logits.sparse_encoded and two_four.fraction_ok == 1.0 and two_four.max_nonzeros <= 2
    fc1 = weight_of(report, "FULLY_CONNECTED", 0)
    data = report.model.main.tensors[fc1.tensor].data
    for stats in fc1.nm:
        assert (stats.groups, stats.groups_ok, stats.max_nonzeros) == brute_nm(data != 0, stats.n, stats.m)
    assert fc1.zero_fraction == pytest.approx(float((data == 0).mean()))
    assert 0.7 < fc1.zero_fraction < 0.9
    assert 0.75 < report.weight_sparsity < 0.9
    assert report.sparse_tensors == 4


def test_unique_values_per_output_channel(zoo):
    report = inspect_model(zoo("int8_digits"))
    conv = weight_of(report, "CONV_2D", 1)
    kernel = report.model.main.tensors[conv.tensor].data
    per_channel = [len(np.unique(kernel[c])) for c in range(kernel.shape[0])]
    assert conv.channel_axis == 0
    assert conv.unique_per_channel_max == max(per_channel)
    assert conv.unique_per_channel_mean == pytest.approx(np.mean(per_channel))
    assert conv.unique_values == len(np.unique(kernel)) <= 256


def test_zero_means_the_zero_point(zoo):
    report = inspect_model(zoo("handmade"))
    assert by_name(report, "uint8_weights").zero_fraction == 0.5  # 2 of 4 equal the zero point 128
    assert by_name(report, "int4_weights").zeros == 1
    assert by_name(report, "block_sparse").zero_fraction == 0.5


@pytest.mark.parametrize(
    "name, full_integer, integer_io",
    [("int8_digits", True, True), ("sparse_int8", True, False), ("float_digits", False, False),
     ("float16_weights", False, False), ("custom_op", False, False)],
)
def test_full_integer(zoo, name, full_integer, integer_io):
    report = inspect_model(zoo(name))
    assert report.is_full_integer is full_integer
    assert report.integer_io is integer_io
    assert bool(report.float_ops) is not full_integer


def test_float16_ops_are_named(zoo):
    report = inspect_model(zoo("float16_weights"))
    assert report.op_histogram["DEQUANTIZE"] == 8
    assert "DEQUANTIZE#0" in report.float_ops


def test_weights_are_each_constant_buffer_once(zoo):
    report = inspect_model(zoo("float_digits"))
    model = read_tflite(zoo("float_digits"))
    constants = {t.buffer: t.nbytes for t in model.main.tensors if t.is_constant}
    assert [w.buffer for w in report.weights] == list(constants)
    assert report.weight_bytes == sum(constants.values())
    assert report.weight_bytes < report.size_bytes


def test_report_dict_is_json(zoo):
    report = inspect_model(zoo("handmade"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["schema"] == 1 and data["custom_ops"] == ["EdgekitMystery"]
    assert data["subgraphs"] == 2 and data["operator_count"] == 2
    assert data["inputs"][0] == {"name": "input", "index": 0, "dtype": "float32", "shape": [1, 4],
                                 "shape_signature": [1, 4], "quantization": None}
    int4 = next(w for w in data["weights"] if w["name"] == "int4_weights")
    assert int4["dtype"] == "int4" and int4["nbytes"] == 4 and int4["unique_values"] == 8
    assert "weights" not in report.to_dict(tensors=False)


def test_depthwise_channels_are_the_last_axis(zoo):
    report = inspect_model(zoo("int8_depthwise"))
    depthwise = weight_of(report, "DEPTHWISE_CONV_2D")
    tensor = report.model.main.tensors[depthwise.tensor]
    assert tensor.shape == (1, 3, 3, 8) and tensor.quantization.quantized_dimension == 3
    assert depthwise.channel_axis == 3
    assert depthwise.unique_per_channel_max == max(len(np.unique(tensor.data[..., c])) for c in range(8))
    assert depthwise.nm == []  # no input channels to group: a depthwise filter has one per output channel
    assert weight_of(report, "CONV_2D", 1).nm  # the 1x1 projection does


def test_constants_without_data_are_listed_with_a_note(zoo, cli):
    report = inspect_model(zoo("handmade"))
    external = by_name(report, "external_weights")
    assert external.buffer == 0 and external.nbytes == 16 and external.zero_fraction is None
    assert "note: external_weights: data in external file 'handmade_weights.bin'" in cli("inspect", zoo("handmade")).output
