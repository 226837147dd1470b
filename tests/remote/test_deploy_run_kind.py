"""A deploy's benchmark is recorded as a deploy run (real sshd), so history can tell it from a local bench."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def test_a_deploy_is_recorded_as_kind_deploy(cli, sshd, device_args, remote_models, tmp_path):
    deployed = cli("deploy", remote_models["a"], *device_args(sshd, tmp_path / "device"), "--json")
    assert deployed.exit_code == 0, deployed.output
    run_id = json.loads(deployed.stdout)["devices"][0]["run_id"]
    assert cli("bench", remote_models["a"], "--runs", "3", "--warmup", "0").exit_code == 0
    runs = json.loads(cli("history", "--json").stdout)
    assert [(r["id"], r["kind"], r["label"]) for r in runs] == [(run_id + 1, "bench", None), (run_id, "deploy", None)]
