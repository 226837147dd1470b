"""``edgekit tune`` with a latency budget measured on the emulated arm64 Pi over SSH (real sshd, tflite-runtime).

One one-epoch prune trial on 480 digits samples; its benchmark is a deploy to the device
under the study's bench lock, and ``max_latency_ms`` is judged on the device's p50, not on this machine.
"""

from __future__ import annotations

import json
import shutil

import pytest

import rig
from helpers.support import run_edgekit
from helpers.tune_support import tune_toml

pytestmark = pytest.mark.device


def test_tune_judges_a_latency_budget_on_the_arm64_device(devices, client_key, known_hosts, isolated_client,
                                                           tmp_path, digits_train, digits_val):
    pi = devices[0]
    ssh = isolated_client / ".ssh"
    ssh.mkdir(mode=0o700)
    shutil.copy(client_key, ssh / "id_ed25519")
    (ssh / "id_ed25519").chmod(0o600)
    shutil.copy(known_hosts, ssh / "known_hosts")
    config = tune_toml(tmp_path, digits_train, digits_val, trials=1,
                       target='name = "rpi4"\ndevice = "tunepi"\nruns = 3\nwarmup = 1\nthreads = 1',
                       extra=f"""max_latency_ms = 1000
[devices.tunepi]
host = "{pi.spec}"
target = "rpi4"
remote_python = "{rig.DEVICE_PYTHON}"
remote_dir = "/home/pi/tune"
""")
    proc = run_edgekit("tune", config, "--out", tmp_path / "out", "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["objectives"] == {"accuracy": "maximize", "gzip_kb": "minimize", "p50_ms": "minimize"}
    for trial in document["trials"]:
        result = trial["result"]
        assert trial["state"] == "COMPLETE" and result["bench_where"] == "tunepi"
        latency = next(v for v in result["verdicts"] if v["name"] == "max_latency_ms")
        assert not latency["off_target"] and latency["value"] == result["p50_ms"] > 0
        assert trial["values"][2] == result["p50_ms"]
    assert document["chosen"] is not None
    assert "[devices.tunepi]" in (tmp_path / "out" / "edgekit.toml").read_text()
