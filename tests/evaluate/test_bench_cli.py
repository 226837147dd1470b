"""``edgekit bench`` through the CLI: report, JSON, recording, clean failures, no TensorFlow."""

from __future__ import annotations

import json
import os

import pytest

from helpers.agent_support import SEGFAULT, fake_runtime, bench_models  # noqa: F401
from helpers.support import run_edgekit
from edgekit.results import ResultStore


def test_bench_prints_a_benchmark_model_report_and_records_it(cli, bench_models, tmp_path):
    result = cli("bench", bench_models["int8"], "--runs", "20", "--warmup", "2", "--threads", "2")

    assert result.exit_code == 0, result.output
    out = result.stdout
    for field in ("Init:", "First inference:", "Warmup (avg):", "Inference (20 runs, ms):", "mean", "std",
                  "min", "max", "p50", "p90", "p99", "init footprint", "overall footprint", "peak RSS",
                  "Threads:            2", "Runtime:", "Python", "numpy", "sha256"):
        assert field in out, field
    assert str(bench_models["int8"]) in out
    runs = ResultStore(tmp_path / "results.db").runs()
    assert len(runs) == 1
    assert runs[0]["target"] == "local" and runs[0]["host"] == "local"  # where it ran, as history names it
    assert runs[0]["threads"] == 2 and runs[0]["model_name"] == "int8_digits.tflite"
    assert f"recorded as run {runs[0]['id']}" in result.stderr


def test_bench_json(cli, bench_models, tmp_path):
    result = cli("bench", bench_models["float32"], "--runs", "5", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["target"] == "local" and data["timing_ms"]["runs"] == 5
    stored = ResultStore(tmp_path / "results.db").get(data["run_id"])
    assert stored["result"]["model"]["sha256"] == data["model"]["sha256"]
    assert stored["p50_ms"] == data["timing_ms"]["p50"]


def test_bench_does_not_import_tensorflow(bench_models, tmp_path):
    proc = run_edgekit("bench", bench_models["float32"], "--runs", "3",
                       env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1",
                            "EDGEKIT_RESULTS_DB": str(tmp_path / "r.db")})
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "click" in imported  # the profile is there
    assert not {name for name in imported if name.split(".")[0] in ("tensorflow", "keras")}


def test_bench_user_errors_exit_2(cli, tmp_path):
    missing = cli("bench", tmp_path / "missing.tflite")
    assert missing.exit_code == 2 and "missing.tflite: no such model file" in missing.stderr
    runtime = cli("bench", tmp_path / "missing.tflite", "--runtime", "onnxruntime")
    assert runtime.exit_code == 2


def test_bench_unresolved_op_exits_4_naming_it(bench_models, tmp_path):
    proc = run_edgekit("bench", bench_models["custom"], env={**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "r.db")})
    assert proc.returncode == 4
    assert "unresolved_op" in proc.stderr and "BesselI1e" in proc.stderr and "Traceback" not in proc.stderr
    assert ResultStore(tmp_path / "r.db").runs() == []


def test_bench_survives_a_runtime_crash(bench_models, tmp_path):
    """A segfault in the runtime kills only the agent: the CLI reports it and exits 4."""
    fake = fake_runtime(tmp_path / "fake", SEGFAULT)
    env = {**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "r.db"),
           "PYTHONPATH": os.pathsep.join([str(fake), os.environ["PYTHONPATH"]])}
    proc = run_edgekit("bench", bench_models["float32"], "--runtime", "tflite_runtime", env=env)
    assert proc.returncode == 4
    assert proc.stderr.strip().endswith("crashed the TFLite runtime with signal 11 (SIGSEGV)")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name,inputs", [
    ("float16_weights", [("float32", [1, 8, 8, 1])]),
    ("sparse_encoded", [("float32", [1, 8, 8, 1])]),
    ("sparse_int8", [("float32", [1, 8, 8, 1])]),   # XNNPACK rejects it: builtin kernels take over
    ("buffer_offset", [("float32", [1, 8, 8, 1])]),
    ("multi_io", [("float32", [1, 5]), ("float32", [1, 8, 8, 1])]),
])
def test_bench_runs_third_party_models(cli, zoo, name, inputs):
    result = cli("bench", zoo(name), "--runs", "5", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted((t["dtype"], t["shape"]) for t in data["inputs"]) == sorted(inputs)
    assert data["timing_ms"]["runs"] == 5 and data["timing_ms"]["mean"] > 0
    assert all("XNNPACK" in note or note.startswith("machine loaded:") for note in data["notes"])
