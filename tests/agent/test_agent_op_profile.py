"""The agent's ``bench --op-profile``: one-operator copies of a model, and the profile on each runtime here."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.agent_support import run_agent
from edgekit.agent import edgekit_agent as agent
from edgekit.inspect.reader import read_tflite
from helpers.op_profile_checks import assert_profiles_every_op


def test_one_operator_copy_keeps_the_operator_its_weights_and_nothing_else(zoo):
    """multi_io's CONCATENATION is fed by two operators: its copy takes both as inputs and still runs."""
    from ai_edge_litert.interpreter import Interpreter

    path = zoo("multi_io")
    data, model = path.read_bytes(), read_tflite(path)
    graph = model.main
    produced = set(graph.inputs) | {t for op in graph.operators for t in op.outputs}
    assert model.signatures  # the copy must drop them: their tensors are no longer the graph's inputs
    for op in graph.operators:
        fed = [t for t in op.inputs if t in produced]
        copy = read_tflite(agent.single_op_model(data, op.index, fed, list(op.outputs)))
        (alone,) = copy.main.operators
        assert (alone.opcode, alone.inputs, alone.outputs) == (op.opcode, op.inputs, op.outputs)
        assert (copy.main.inputs, copy.main.outputs, copy.signatures) == (tuple(fed), op.outputs, [])
        weights = [t for t in op.inputs if t >= 0 and t not in produced]
        assert all(np.array_equal(copy.main.tensors[t].data, graph.tensors[t].data) for t in weights)
        interpreter = Interpreter(model_content=agent.single_op_model(data, op.index, fed, list(op.outputs)))
        interpreter.allocate_tensors()
        interpreter.invoke()
    assert len([op for op in graph.operators if len([t for t in op.inputs if t in produced]) == 2]) == 1


@pytest.mark.parametrize("runtime", ["ai_edge_litert", "tensorflow.lite"])
def test_op_profile_lists_every_operator_on_each_runtime(bench_models, runtime):
    code, result, _ = run_agent("bench", bench_models["int8"], "--op-profile", "--runs", "5", "--warmup", "1",
                                "--runtime", runtime)
    assert code == 0 and result["runtime"]["name"] == runtime, result
    profile = result["op_profile"]
    assert_profiles_every_op(profile, bench_models["int8"])
    assert profile["inputs"] == "model" and not profile["stopped_early"]
    assert all(op["runs"] == 5 and op["note"] is None for op in profile["ops"])
    assert profile["model_ms"] == result["timing_ms"]["p50"]


def test_a_lone_operator_xnnpack_refuses_runs_on_the_builtin_kernels(zoo):
    """XNNPACK folds fp16 weights' DEQUANTIZE into their consumer and cannot run one alone."""
    model = zoo("float16_weights")
    code, result, _ = run_agent("bench", model, "--op-profile", "--runs", "3", "--warmup", "0")
    assert code == 0, result
    assert_profiles_every_op(result["op_profile"], model)
    notes = {op["type"]: op["note"] for op in result["op_profile"]["ops"]}
    assert "builtin kernels" in notes["DEQUANTIZE"] and notes["CONV_2D"] is None


def test_the_time_limit_cuts_every_operators_runs_not_the_list(bench_models):
    code, result, _ = run_agent("bench", bench_models["float32"], "--op-profile", "--runs", "100000000",
                                "--max-seconds", "1.5")
    assert code == 0, result
    profile = result["op_profile"]
    assert_profiles_every_op(profile, bench_models["float32"])
    assert profile["stopped_early"] and all(1 <= op["runs"] < 100000000 for op in profile["ops"])
