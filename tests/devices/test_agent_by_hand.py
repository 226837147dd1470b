"""The agent by hand on an emulated arm64 Pi: ``pip install --no-deps`` of the wheel into the
device's venv (tflite-runtime 2.14 + numpy 1.x, nothing else, no network), then
``edgekit-agent`` and ``python -m edgekit.agent`` there."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from helpers.install_support import build_wheel

pytestmark = pytest.mark.device

VENV = "/home/pi/venv"   # rig.DEVICE_PYTHON's venv


def test_agent_runs_by_hand_from_a_minimal_install(devices, models, client_key, known_hosts, tmp_path):
    pi = devices[0]
    wheel = build_wheel(tmp_path)
    drop = pi.root / "tmp" / "agent-by-hand"
    drop.mkdir()
    shutil.copy(wheel, drop / wheel.name)
    shutil.copy(models["a"], drop / "a.tflite")
    drop.chmod(0o755)

    def on_device(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", "-i", str(client_key), "-o", f"UserKnownHostsFile={known_hosts}",
                               "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", pi.spec, command],
                              capture_output=True, text=True, timeout=600)

    install = on_device(f"{VENV}/bin/pip install -q --no-deps --no-index /tmp/agent-by-hand/{wheel.name}")
    assert install.returncode == 0, install.stderr
    try:
        bench = on_device(f"{VENV}/bin/edgekit-agent bench /tmp/agent-by-hand/a.tflite --runs 3 --warmup 1")
        assert bench.returncode == 0, bench.stdout + bench.stderr
        result = json.loads(bench.stdout)
        assert result["ok"] and result["host"]["arch"] == "aarch64"
        assert (result["runtime"]["name"], result["runtime"]["version"]) == ("tflite_runtime", "2.14.0")
        assert result["host"]["numpy"].startswith("1.") and result["timing_ms"]["runs"] == 3

        probe = on_device(f"{VENV}/bin/python -m edgekit.agent probe")
        assert probe.returncode == 0 and json.loads(probe.stdout)["runtime"]["name"] == "tflite_runtime"
        # minimal: the host side's dependencies are not there, and the agent did not need them
        missing = on_device(f"{VENV}/bin/python -c 'import click'")
        assert missing.returncode == 1 and "No module named 'click'" in missing.stderr
    finally:
        on_device(f"{VENV}/bin/pip uninstall -q -y edgekit")
