"""``edgekit bench --op-profile`` on the digits int8 model: benchmark_model's operator-wise table, and JSON."""

from __future__ import annotations

import json
import re

from edgekit.results import ResultStore
from helpers.op_profile_checks import SHARE_ROUNDING, assert_profiles_every_op, model_op_types

ROW = re.compile(r"^\s+(\d+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)%\s+\S+$")


def test_bench_op_profile_table_lists_every_operator(cli, digits_tflite):
    model = digits_tflite("int8")
    result = cli("bench", model, "--op-profile", "--runs", "10", "--warmup", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    table = out[out.index("Operator-wise profile"):out.index("Summary by op type:")]
    rows = [ROW.match(line).groups() for line in table.splitlines()[2:]]
    assert [(int(node), kind) for node, kind, *_ in rows] == list(enumerate(model_op_types(model)))
    assert abs(sum(float(share) for *_, share, _ in rows) - 100) <= SHARE_ROUNDING * len(rows)
    assert rows[-1][4] == "100.00"
    for line in ("Measured:           each operator timed alone", "Sum of operators:", "whole model's median"):
        assert line in out, line


def test_bench_op_profile_json_is_recorded(cli, digits_tflite, tmp_path):
    model = digits_tflite("int8")
    result = cli("bench", model, "--op-profile", "--runs", "5", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert_profiles_every_op(data["op_profile"], model)
    assert ResultStore(tmp_path / "results.db").get(data["run_id"])["result"]["op_profile"] == data["op_profile"]


def test_deploy_op_profile_without_a_benchmark_is_one_line(cli, digits_tflite):
    result = cli("deploy", digits_tflite("int8"), "--host", "nobody@127.0.0.1:1", "--op-profile", "--no-bench")
    assert result.exit_code == 2 and "leave out --no-bench" in result.stderr and "Traceback" not in result.stderr
