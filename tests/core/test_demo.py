"""``edgekit demo``: the whole job end to end, as a new user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os

import pytest

from support import run_edgekit


@pytest.mark.slow
def test_demo_json_and_artifacts(tmp_path):
    out = tmp_path / "demo"
    env = {**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "results.db")}
    proc = run_edgekit("demo", "--out", out, "--epochs", "3", "--runs", "20", "--json",
                       env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # stdout holds the JSON only; progress went to stderr
    assert "[int8] benchmarking digits_int8.tflite" in proc.stderr
    assert report == json.loads((out / "report.json").read_text())
    float_row, int8_row = report["models"]
    assert (float_row["name"], int8_row["name"]) == ("float32", "int8")
    for row in (float_row, int8_row):
        assert (out / f"digits_{row['name']}.tflite").stat().st_size == row["size_bytes"]
        assert row["samples"] == 359 and row["accuracy"] > 0.8
        assert 0 < row["latency_ms"]["mean"] and 0 < row["latency_ms"]["p90"] and row["peak_rss_mb"] > 0
    assert int8_row["size_bytes"] <= 0.27 * float_row["size_bytes"]
    assert (out / "digits.keras").is_file()
    history = run_edgekit("history", "--json", env=env)
    assert {run["id"] for run in json.loads(history.stdout)} >= {float_row["run_id"], int8_row["run_id"]}


def test_demo_table(cli, tmp_path):
    result = cli("demo", "--out", tmp_path / "demo", "--epochs", "1", "--runs", "5", "--warmup", "1")
    assert result.exit_code == 0, result.output
    header, float_line, int8_line, ratio_line = result.stdout.splitlines()[:4]
    assert header.split()[:3] == ["model", "size", "(bytes)"]
    assert float_line.startswith("float32") and int8_line.startswith("int8") and ratio_line.startswith("int8/float32")
    assert f"artifacts in {tmp_path / 'demo'}/" in result.stdout
