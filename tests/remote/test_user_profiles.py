"""``edgekit deploy --target`` with a profile from ~/.config/edgekit/targets (a real sshd)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def user_profile(name: str, *, quantizations: str) -> Path:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "edgekit" / "targets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "the lab box"\narch = "{platform.machine()}"\ncpu = "x86"\n'
                    f'cores = 2\nram_mb = 0\nruntimes = ["ai_edge_litert"]\nquantizations = [{quantizations}]\n')
    return path


def with_target(args: list[str], target: str) -> list[str]:
    return [target if i and args[i - 1] == "--target" else a for i, a in enumerate(args)]


def test_deploy_uses_a_user_profile(cli, sshd, device_args, remote_models):
    user_profile("lab-box", quantizations='"none"')
    result = cli("deploy", remote_models["a"], *with_target(device_args(sshd), "lab-box"), "--json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["devices"][0]
    assert entry["target"] == "lab-box" and entry["result"]["runtime"]["name"] == "ai_edge_litert"
    assert cli("history", "--target", "lab-box", "--json").stdout.count('"target": "lab-box"') == 1


def test_user_profile_overriding_a_bundled_one_is_the_one_deploy_checks(cli, sshd, device_args, remote_models):
    path = user_profile("local", quantizations='"int8"')   # this user's "local" takes full-int8 models only
    refused = cli("deploy", remote_models["a"], *device_args(sshd))
    assert refused.exit_code == 2
    assert "target local accepts int8" in refused.stderr, refused.stderr
    path.unlink()
    assert cli("deploy", remote_models["a"], *device_args(sshd), "--no-bench").exit_code == 0
