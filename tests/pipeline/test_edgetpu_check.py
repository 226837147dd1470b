"""Coral Edge TPU checker on real converted models: full-int8 maps, float falls back, the cut rule."""

from __future__ import annotations

from edgekit.inspect.edgetpu import AFTER_CUT, BAD_DTYPE, IO_CONVERSION, MAPPED, NOT_SUPPORTED, \
    check_edgetpu, check_with_compiler, parse_compiler_log


def test_full_int8_static_model_maps_entirely(tflite_models):
    report = check_edgetpu(tflite_models["int8_static"])
    assert report.model_issues == []
    assert report.ops and all(op.on_tpu and op.status == MAPPED for op in report.ops)
    assert report.compatible
    assert report.to_dict()["cpu_ops"] == 0


def test_float_io_conversions_stay_on_cpu_without_cutting(tflite_models):
    report = check_edgetpu(tflite_models["int8_float_io"])
    assert (report.ops[0].opcode, report.ops[0].status) == ("QUANTIZE", IO_CONVERSION)
    assert (report.ops[-1].opcode, report.ops[-1].status) == ("DEQUANTIZE", IO_CONVERSION)
    assert all(op.on_tpu for op in report.ops[1:-1])
    assert report.compatible and report.model_issues == []


def test_float_model_runs_on_cpu_and_says_why(tflite_models):
    report = check_edgetpu(tflite_models["float32_static"])
    assert not report.compatible
    assert any("not fully 8-bit quantized" in issue for issue in report.model_issues)
    assert report.ops[0].status == BAD_DTYPE
    # the compiler cuts at the first unmappable op: everything after it stays on the CPU too
    assert all(op.status == AFTER_CUT for op in report.ops[1:])
    assert len(report.cpu_ops) == len(report.ops)


def test_dynamic_batch_is_reported(tflite_models):
    report = check_edgetpu(tflite_models["int8"])
    assert any(issue.startswith("dynamic shapes") for issue in report.model_issues)
    assert not report.compatible


def test_unsupported_op_cuts_the_graph(tflite_models):
    report = check_edgetpu(tflite_models["int8_hard_swish"])
    opcodes = [op.opcode for op in report.ops]
    cut = opcodes.index("HARD_SWISH")
    assert cut > 0, opcodes
    assert all(op.on_tpu for op in report.ops[:cut])
    assert report.ops[cut].status == NOT_SUPPORTED
    assert all(op.status == AFTER_CUT and not op.on_tpu for op in report.ops[cut + 1:])
    assert any("op %d HARD_SWISH: CPU (Operation not supported)" % cut in line for line in report.lines())


def test_without_compiler_it_says_so_and_continues(tflite_models, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no edgetpu_compiler, whether or not this machine has one
    report = check_with_compiler(tflite_models["int8_static"])
    assert report.compiler is None
    assert report.compiler_note.startswith("edgetpu_compiler is not on PATH")
    assert report.compatible  # the static check still gave its verdict


# Output of `edgetpu_compiler -s` (compiler 16) for a partly mapped model, as Coral prints it.
COMPILER_LOG = """\
Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 1354 ms.

Input model: model.tflite
Input size: 5.10MiB
Output model: model_edgetpu.tflite
Output size: 6.28MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 143
Operation log: model_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU.
Number of operations that will run on Edge TPU: 139
Number of operations that will run on CPU: 4

Operator                       Count      Status

CONV_2D                        100        Mapped to Edge TPU
CONCATENATION                  39         Mapped to Edge TPU
HARD_SWISH                     1          Operation not supported
CONCATENATION                  2          More than one subgraph is not supported
DEQUANTIZE                     1          Operation is working on an unsupported data type
"""


def test_compiler_log_is_parsed():
    log = parse_compiler_log(COMPILER_LOG)
    assert log["compiled"] and log["total_ops"] == 143 and log["subgraphs"] == 1
    assert (log["tpu_ops"], log["cpu_ops"]) == (139, 4)
    assert [(o["op"], o["count"], o["on_tpu"]) for o in log["ops"]] == [
        ("CONV_2D", 100, True), ("CONCATENATION", 39, True), ("HARD_SWISH", 1, False),
        ("CONCATENATION", 2, False), ("DEQUANTIZE", 1, False)]
    assert log["ops"][2]["status"] == "Operation not supported"
