"""``edgekit demo``: the whole job end to end, as a new user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os

import pytest

from helpers.support import run_edgekit


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
    history = {run["id"]: run for run in json.loads(run_edgekit("history", "--json", env=env).stdout)}
    assert [(history[row["run_id"]]["kind"], history[row["run_id"]]["label"]) for row in (float_row, int8_row)] == [
        ("bench", "demo:float32"), ("bench", "demo:int8")]


def test_demo_table(cli, tmp_path):
    result = cli("demo", "--out", tmp_path / "demo", "--epochs", "1", "--runs", "5", "--warmup", "1")
    assert result.exit_code == 0, result.output
    header, float_line, int8_line, ratio_line = result.stdout.splitlines()[:4]
    assert header.split()[:3] == ["model", "size", "(bytes)"]
    assert float_line.startswith("float32") and int8_line.startswith("int8") and ratio_line.startswith("int8/float32")
    assert f"artifacts in {tmp_path / 'demo'}/" in result.stdout
    assert result.stderr.splitlines()[0] == "[train] training the digits CNN on digits_train.npz (1 epochs) ..."


def test_run_demo_is_the_use_case_progress_goes_to_its_callback(tmp_path, monkeypatch, capsys):
    from edgekit.demo import run_demo

    monkeypatch.setenv("EDGEKIT_RESULTS_DB", str(tmp_path / "results.db"))
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", epochs=1, runs=5, warmup=1, progress=lines.append)
    assert [line.split()[0] for line in lines] == ["[train]"] * 2 + ["[float32]"] * 3 + ["[int8]"] * 3
    assert lines[-1] == "[int8] benchmarking digits_int8.tflite locally (1 thread(s), 1 warmup + 5 runs) ..."
    assert "[train]" not in capsys.readouterr().err   # the library prints nothing itself
    assert result.to_dict() == json.loads((tmp_path / "demo" / "report.json").read_text())
    assert result.keras_model == tmp_path / "demo" / "digits.keras" and result.keras_model.is_file()
    assert [row["name"] for row in result.models] == ["float32", "int8"]
