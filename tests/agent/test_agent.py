"""The on-device agent under the real LiteRT runtime, and its local runner."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys

import pytest

from helpers.agent_support import IMPORT_FAILS, NUMPY2_BREAKAGE, SEGFAULT, fake_runtime, run_agent, bench_models  # noqa: F401
from edgekit.agent import edgekit_agent as agent
from edgekit.agent.runner import AGENT_PATH, parse_agent_output, run_local
from edgekit.errors import AgentError

TIMING_KEYS = {"init", "first_inference", "warmup_mean", "warmup_runs", "runs", "runs_requested",
               "mean", "std", "min", "max", "p50", "p90", "p99"}
MEMORY_KEYS = {"baseline_rss", "init_rss", "init_footprint", "overall_footprint", "peak_rss", "source"}


def _env_with(path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.parametrize("kind,dtype", [("float32", "float32"), ("int8", "int8")])
def test_bench_result_is_complete_and_consistent(bench_models, kind, dtype):
    path = bench_models[kind]
    result = run_local(path, threads=2, runs=30, warmup=3)

    assert result["ok"] is True and result["schema"] == 2
    assert result["model"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result["model"]["size_bytes"] == path.stat().st_size
    assert result["runtime"]["name"] in agent.DEFAULT_RUNTIMES and result["runtime"]["version"]
    assert result["threads"] == 2
    assert [t["dtype"] for t in result["inputs"]] == [dtype] and result["inputs"][0]["shape"] == [1, 8, 8, 1]
    assert result["outputs"][0]["shape"] == [1, 10]

    timing = result["timing_ms"]
    assert set(timing) == TIMING_KEYS
    assert timing["runs"] == 30 and timing["warmup_runs"] == 3 and result["stopped_early"] is False
    assert 0 < timing["min"] <= timing["mean"] <= timing["max"]
    assert timing["min"] <= timing["p50"] <= timing["p90"] <= timing["p99"] <= timing["max"]
    assert timing["std"] >= 0 and timing["init"] > 0 and timing["first_inference"] > 0

    memory = result["memory_mb"]
    assert set(memory) == MEMORY_KEYS
    assert memory["init_footprint"] >= 0 and memory["overall_footprint"] >= 0
    assert memory["baseline_rss"] <= memory["init_rss"] <= memory["peak_rss"]

    host = result["host"]
    assert {"hostname", "arch", "cpu_model", "cpu_count", "python", "numpy", "platform"} <= set(host)
    assert host["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(result["device"]) >= {"before", "after", "throttled"}
    assert set(result["device"]["before"]) == {"governor", "temp_c", "throttled"}


@pytest.mark.parametrize("broken,why", [
    (NUMPY2_BREAKAGE, "caused by ImportError: numpy.core.multiarray failed to import"),
    (IMPORT_FAILS, "ImportError: libtensorflowlite_c.so: cannot open shared object file"),
])
def test_falls_back_when_tflite_runtime_is_broken(bench_models, tmp_path, broken, why):
    """A tflite_runtime that fails on import or on first use: the agent moves on and says why.

    The broken package also prints to stdout, which must not corrupt the one JSON line.
    """
    env = _env_with(fake_runtime(tmp_path, broken))
    code, result, _ = run_agent("bench", bench_models["float32"], "--runs", "3", env=env)

    assert code == 0, result
    assert result["runtime"]["name"] == "ai_edge_litert"
    tried = result["runtime"]["tried"]
    assert tried[0]["name"] == "tflite_runtime" and why in tried[0]["error"]
    if broken is NUMPY2_BREAKAGE and result["host"]["numpy"].startswith("2."):
        assert "built for numpy 1.x" in tried[0]["error"] and "pip install 'numpy<2'" in tried[0]["error"]


def test_runtime_order_is_overridable(bench_models):
    code, result, _ = run_agent("bench", bench_models["float32"], "--runs", "3",
                                "--runtime", "ai_edge_litert,tflite_runtime")
    assert code == 0 and result["runtime"]["name"] == "ai_edge_litert" and result["runtime"]["tried"] == []


def test_only_an_absent_runtime_is_runtime_missing(bench_models, tmp_path):
    env = _env_with(fake_runtime(tmp_path, NUMPY2_BREAKAGE))
    code, result, _ = run_agent("bench", bench_models["float32"], "--runtime", "tflite_runtime", env=env)

    assert code == 3
    assert result["error"]["kind"] == "runtime_missing"
    assert "tflite_runtime" in result["error"]["message"] and "pip install" in result["error"]["message"]


def test_unresolved_custom_op_is_named(bench_models):
    code, result, _ = run_agent("bench", bench_models["custom"])
    assert code == 4
    assert result["error"]["kind"] == "unresolved_op"
    assert "BesselI1e" in result["error"]["message"]


def test_not_a_model_is_model_load(tmp_path):
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"not a flatbuffer" * 8)
    code, result, _ = run_agent("bench", bogus)
    assert code == 4 and result["error"]["kind"] == "model_load" and str(bogus) in result["error"]["message"]


def test_missing_delegate_library_is_named(bench_models):
    code, result, _ = run_agent("bench", bench_models["int8"], "--delegate", "libedgekit-no-such-delegate.so")
    assert code == 3 and result["error"]["kind"] == "runtime_missing"
    assert "libedgekit-no-such-delegate.so" in result["error"]["message"]


@pytest.mark.parametrize("args", [["bench"], ["bench", "nowhere.tflite"], ["bench", "x", "--threads", "zero"],
                                  ["bench", "x", "--runtime", "onnxruntime"], ["fly"]])
def test_bad_arguments_are_json_exit_2(args):
    code, result, _ = run_agent(*args)
    assert code == 2 and result["ok"] is False and result["error"]["kind"] == "bad_args"


def test_max_seconds_stops_timed_runs_early(bench_models):
    code, result, _ = run_agent("bench", bench_models["float32"], "--runs", "100000000", "--max-seconds", "1")
    timing = result["timing_ms"]
    assert code == 0 and result["stopped_early"] is True
    assert 1 <= timing["runs"] < timing["runs_requested"] == 100000000


def test_probe_reports_runtime_host_and_disk(tmp_path):
    code, result, _ = run_agent("probe", "--dir", tmp_path / "not" / "yet")
    assert code == 0 and result["ok"] is True
    assert result["runtime"]["name"] in agent.DEFAULT_RUNTIMES
    assert result["disk_path"] == str(tmp_path) and result["free_disk_bytes"] > 0
    assert result["host"]["cpu_count"] >= result["host"]["cpus_usable"] >= 1


def test_probe_counts_only_the_cpus_the_agent_may_use(tmp_path):
    """Under a taskset (as in a container or systemd slice) the usable CPUs are fewer than the machine's."""
    proc = subprocess.run(["taskset", "-c", "0", sys.executable, str(AGENT_PATH), "probe", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    host = json.loads(proc.stdout)["host"]
    assert host["cpus_usable"] == 1
    assert host["cpu_count"] == os.cpu_count()


def test_probe_without_runtime_says_how_to_install(tmp_path):
    env = _env_with(fake_runtime(tmp_path, NUMPY2_BREAKAGE))
    code, result, _ = run_agent("probe", "--runtime", "tflite_runtime", env=env)
    assert code == 0 and result["runtime"] is None
    assert result["runtimes_tried"][0]["name"] == "tflite_runtime" and "pip install" in result["install_advice"]


def test_a_crashing_runtime_is_reported_with_its_signal(bench_models, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", _env_with(fake_runtime(tmp_path, SEGFAULT))["PYTHONPATH"])
    with pytest.raises(AgentError, match=r"local: the model crashed the TFLite runtime with signal 11 \(SIGSEGV\)"):
        run_local(bench_models["float32"], runtimes=["tflite_runtime"])


def test_a_run_past_its_time_limit_is_killed(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", _env_with(fake_runtime(tmp_path, "import time\ntime.sleep(60)\n"))["PYTHONPATH"])
    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0" * 4 + b"TFL3" + b"\0" * 56)  # passes the header check; the fake runtime never reads it
    with pytest.raises(AgentError, match="did not finish within 2s"):
        run_local(model, runtimes=["tflite_runtime"], timeout=2)


def test_parse_agent_output_names_where_it_failed():
    with pytest.raises(AgentError, match="pi4: .*signal 9 \\(SIGKILL\\)"):
        parse_agent_output("", 128 + 9, "", where="pi4")
    with pytest.raises(AgentError, match="pi4: the benchmark agent exited with code 1 without a result; stderr: boom"):
        parse_agent_output("Traceback...", 1, "boom\n", where="pi4")
    with pytest.raises(AgentError, match="pi4: unresolved_op: op X"):
        parse_agent_output('{"schema": 1, "ok": false, "error": {"kind": "unresolved_op", "message": "op X"}}',
                           4, "", where="pi4")


@pytest.mark.parametrize("before,after,reasons", [
    ("0x0", "0x0", []),
    ("0x50000", "0x50000", []),                       # throttled before this run, not during it
    ("0x0", "0x50005", ["under-voltage", "throttled"]),
    ("0x0", "0x80000", ["soft-temperature-limit"]),   # hit the soft limit during the run, recovered
    (None, "0x2", ["arm-frequency-capped"]),
    ("0x0", None, []),
])
def test_throttle_flags(before, after, reasons):
    assert agent.throttle_reasons(before, after) == reasons


@pytest.mark.parametrize("cpuinfo,model", [
    ({"CPU implementer": "0x41", "CPU part": "0xd08", "model name": "ARMv7 Processor rev 3 (v7l)"}, "Cortex-A72"),
    ({"CPU implementer": "0x41", "CPU part": "0xd0b"}, "Cortex-A76"),
    ({"CPU implementer": "0x41", "CPU part": "0xd03", "Hardware": "BCM2835"}, "Cortex-A53"),
    ({"model name": "Intel(R) Xeon(R) CPU"}, "Intel(R) Xeon(R) CPU"),
    ({"CPU implementer": "0x4e", "CPU part": "0x004", "Hardware": "NVIDIA Tegra"}, "NVIDIA Tegra"),
])
def test_cpu_model_names(cpuinfo, model):
    assert agent.cpu_model(cpuinfo) == model


def test_agent_is_self_contained_python39():
    """The agent is shipped alone to devices that may run Python 3.9 without edgekit."""
    tree = ast.parse(AGENT_PATH.read_text(), feature_version=(3, 9))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"numpy", "tflite_runtime", "ai_edge_litert", "tensorflow"}
    assert imported <= allowed, imported - allowed
    assert "edgekit" not in imported


def test_a_hang_past_max_seconds_is_time_limit(tmp_path):
    """Stuck inside the runtime (here: its import), the agent's watchdog still answers."""
    env = _env_with(fake_runtime(tmp_path, "import time\ntime.sleep(60)\n"))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"\0" * 64)
    code, result, _ = run_agent("bench", model, "--runtime", "tflite_runtime", "--max-seconds", "0.5", env=env)
    assert code == 6 and result["error"]["kind"] == "time_limit" and "--max-seconds 0.5" in result["error"]["message"]


def test_bench_reports_the_delegate_and_the_ops_it_took(bench_models):
    delegation = run_local(bench_models["int8"], runs=1, warmup=0)["delegation"]
    assert delegation["requested"] is None and delegation["applied"] == ["XNNPACK"]
    assert delegation["ops"] == 6 and delegation["ops_delegated"] == 6 and delegation["partitions"] == 1


def test_run_computes_the_outputs_the_host_runtime_computes(bench_models, digits_val, tmp_path):
    import numpy as np

    from edgekit.evaluate.tflite import TFLiteModel

    x = np.load(digits_val)["x"][:40]
    np.savez(tmp_path / "in.npz", x0=x)
    save = tmp_path / "out.npz"
    code, result, _ = run_agent("run", bench_models["int8"], "--inputs", tmp_path / "in.npz", "--save", save)
    assert code == 0 and result["ok"] and result["samples"] == 40
    raw = np.load(save)["y0"]
    assert raw.dtype == np.int8 and raw.shape == (40, 10)
    assert result["saved"]["sha256"] == hashlib.sha256(save.read_bytes()).hexdigest()
    head = result["outputs"][0]
    scale, zero = head["quantization"]
    host = TFLiteModel(bench_models["int8"]).predict([x])[0]
    assert np.array_equal((raw.astype(np.float32) - zero) * scale, host)
    assert head["top1"] == host.argmax(1).tolist()
    assert result["delegation"]["ops_delegated"] == 6


def test_run_refuses_inputs_of_the_wrong_shape_as_json(bench_models, tmp_path):
    import numpy as np

    np.savez(tmp_path / "in.npz", x0=np.zeros((3, 28, 28), np.float32))
    code, result, _ = run_agent("run", bench_models["int8"], "--inputs", tmp_path / "in.npz",
                                "--save", tmp_path / "out.npz")
    assert code == 2 and result["error"]["kind"] == "bad_args"
    assert "x0 has shape [3, 28, 28]" in result["error"]["message"] and not (tmp_path / "out.npz").exists()
