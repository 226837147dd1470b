"""Tensor arena under TFLite Micro: measured by tflite-micro, and the planner agrees on the activations."""

from __future__ import annotations

import importlib.util

import pytest

from edgekit.export.arena import PLANNER_METHOD, TFLM_METHOD, estimate_arena, measure_with_tflm, plan_arena, \
    plan_offsets

needs_tflm = pytest.mark.skipif(importlib.util.find_spec("tflite_micro") is None,
                                reason="tflite-micro is not installed (pyproject: Linux x86_64 only)")


@needs_tflm
@pytest.mark.parametrize("name", ["int8", "float32"])
def test_tflm_measurement_and_planner_head_agree(tflite_models, name):
    data = tflite_models[name].read_bytes()
    measured = measure_with_tflm(data)
    assert measured.method == TFLM_METHOD
    assert measured.bytes == measured.head_bytes + measured.tail_bytes > 0
    planned = plan_arena(data)
    assert planned.method == PLANNER_METHOD
    # TFLM's greedy planner and ours pack the same activations the same way
    assert planned.head_bytes == measured.head_bytes
    assert 0.5 < planned.bytes / measured.bytes < 1.5


def test_float_needs_a_bigger_arena_than_int8(tflite_models):
    int8, float32 = (estimate_arena(tflite_models[n]) for n in ("int8", "float32"))
    assert float32.head_bytes > 3 * int8.head_bytes
    assert int8.method in (TFLM_METHOD, PLANNER_METHOD) and int8.describe().startswith(f"{int8.bytes} bytes")


def test_planner_reuses_memory_of_dead_buffers():
    # a chain a -> b -> c: a and c never live together, so c reuses a's space
    assert plan_offsets([(1024, 0, 0), (2048, 0, 1), (1024, 1, 1)]) == 3072
    # all alive at once: no reuse
    assert plan_offsets([(1024, 0, 2), (2048, 0, 2), (1024, 0, 2)]) == 4096
    # sizes are aligned to 16 bytes
    assert plan_offsets([(10, 0, 0), (10, 0, 0)]) == 32


@needs_tflm
def test_falls_back_to_the_planner_and_says_why(tmp_path):
    from helpers.tflite_zoo import build

    model = build("custom_op", tmp_path)  # a CUSTOM op TFLite Micro has no kernel for
    estimate = estimate_arena(model)
    assert estimate.method == PLANNER_METHOD and estimate.bytes > 0
    assert estimate.note.startswith("tflite-micro not used: tflite-micro could not load the model")
    assert "planner" in estimate.describe() and estimate.note in estimate.describe()
