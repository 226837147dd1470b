"""``edgekit inspect`` through the CLI: text, --json, --nm, errors, and no TensorFlow import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgekit.inspect import read_tflite

# Runs the real console entry point, then reports which heavy modules got imported.
_PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nIMPORTED " + " ".join(
    m for m in ("tensorflow", "keras", "paramiko") if m in sys.modules) + "\\n"))
sys.argv = ["edgekit"] + sys.argv[1:]
from edgekit.cli import main
main()
"""


def run_probe(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def imported(result: subprocess.CompletedProcess) -> list[str]:
    line = [line for line in result.stderr.splitlines() if line.startswith("IMPORTED")][-1]
    return line.split()[1:]


def test_inspect_does_not_import_tensorflow(zoo):
    result = run_probe("inspect", zoo("int8_digits"))
    assert result.returncode == 0, result.stderr
    assert "CONV_2D" in result.stdout
    assert imported(result) == []


def test_help_does_not_import_tensorflow():
    result = run_probe("--help")
    assert result.returncode == 0 and "inspect" in result.stdout
    assert imported(result) == []


def test_text_report(cli, zoo):
    path = zoo("int8_digits")
    result = cli("inspect", path)
    assert result.exit_code == 0, result.output
    out = result.output
    model = read_tflite(path)
    assert f"{path.stat().st_size:,} bytes" in out
    assert "full-integer     yes, integer I/O" in out
    assert "scale 0.00392157, zero point -128" in out  # the input's quantization (1/255, -128)
    for line in ("CONV_2D              2", "FULLY_CONNECTED      2", "MAX_POOL_2D          1"):
        assert line in out
    kernel = model.main.tensors[model.main.operators[0].inputs[1]]
    assert any(line.strip().startswith(kernel.name) and "[8,3,3,1]" in line for line in out.splitlines())


def test_text_report_of_custom_and_sparse_models(cli, zoo):
    custom = cli("inspect", zoo("custom_op")).output
    assert "custom ops       BesselI1e" in custom and "BesselI1e (custom)" in custom
    sparse = cli("inspect", zoo("sparse_encoded"), "--nm", "1:4").output
    assert "sparse tensors   4" in sparse and "[sparse]" in sparse
    assert "2:4 groups" in sparse and "1:4 groups" in sparse and "1:4 ok" in sparse


def test_no_tensors_drops_the_weights_table(cli, zoo):
    out = cli("inspect", zoo("float_digits"), "--no-tensors").output
    assert "weights (constant tensors)" not in out and "operators" in out


def test_json_schema(cli, zoo):
    result = cli("inspect", zoo("multi_io"), "--json", "--nm", "1:4")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == 1
    assert {"path", "size_bytes", "schema_version", "description", "min_runtime_version", "metadata",
            "signatures", "subgraphs", "inputs", "outputs", "operator_count", "op_histogram", "custom_ops",
            "is_full_integer", "integer_io", "float_ops", "sparse_tensors", "weight_tensors", "weight_bytes",
            "weight_sparsity", "nm", "weights"} <= set(data)
    assert sorted(tuple(t["shape"]) for t in data["inputs"]) == [(1, 5), (1, 8, 8, 1)]
    assert len(data["outputs"]) == 2 and data["is_full_integer"] is False
    assert [s["pattern"] for s in data["nm"]] == ["2:4", "1:4"]
    assert data["op_histogram"] == {"FULLY_CONNECTED": 3, "CONV_2D": 1, "RESHAPE": 1, "CONCATENATION": 1}
    weight = data["weights"][0]
    assert {"name", "dtype", "shape", "nbytes", "zero_fraction", "unique_values", "unique_per_channel_max",
            "unique_per_channel_mean", "channel_axis", "nm", "used_by", "sparse_encoded"} <= set(weight)
    assert data["weight_bytes"] == sum(w["nbytes"] for w in data["weights"])
    assert "weights" not in json.loads(cli("inspect", zoo("multi_io"), "--json", "--no-tensors").stdout)


@pytest.mark.parametrize("nm", ["2-4", "5:4", "a:b", "2:0"])
def test_bad_nm(cli, zoo, nm):
    result = cli("inspect", zoo("float_digits"), "--nm", nm)
    assert result.exit_code == 2 and "--nm" in result.output


def test_errors_are_one_line_exit_2(tmp_path):
    text = tmp_path / "notes.tflite"
    text.write_text("hello\n" * 20)
    cases = {
        tmp_path / "missing.tflite": "missing.tflite: no such file",
        tmp_path: "is a directory",
        text: "notes.tflite: not a TFLite model",
    }
    for path, message in cases.items():
        result = run_probe("inspect", path)
        assert result.returncode == 2
        assert result.stdout == ""
        errors = [line for line in result.stderr.splitlines() if line and not line.startswith("IMPORTED")]
        assert len(errors) == 1 and errors[0].startswith("edgekit: error: ") and message in errors[0]
