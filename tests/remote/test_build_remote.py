"""`edgekit build` with a [target] device: the latency comes from that device, over real SSH."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from helpers.build_support import build, project
from edgekit.pipeline.cache import file_sha256


@pytest.mark.slow
def test_build_measures_latency_on_its_device(sshd, user_key, isolated_client, tmp_path):
    ssh = isolated_client / ".ssh"  # the build connects like plain ssh: default key, known_hosts
    ssh.mkdir(mode=0o700)
    shutil.copy(user_key, ssh / "id_ed25519")
    (ssh / "known_hosts").write_text(sshd.known_hosts_line)
    device_dir = tmp_path / "device"
    config = project(tmp_path)
    text = config.read_text().replace('name = "local"', 'name = "local"\ndevice = "bench-box"', 1)
    config.write_text(text + f'\n[devices.bench-box]\nhost = "{sshd.spec}"\ntarget = "local"\n'
                             f'remote_python = "{sys.executable}"\nremote_dir = "{device_dir}"\n')

    proc = build(config, tmp_path / "out", "--json")

    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads(proc.stdout)
    assert manifest["timing"]["measured_on"] == "bench-box"
    assert manifest["timing"]["latency_ms"]["runs"] == 10 and manifest["timing"]["latency_ms"]["mean"] > 0
    assert "latency measured on local" not in proc.stderr
    # the model that was measured is the build's final model, installed on the device
    current = device_dir / "current"
    assert os.readlink(current).startswith("models/")
    assert file_sha256(current) == file_sha256(tmp_path / "out" / "model.tflite")
