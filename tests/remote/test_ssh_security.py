"""Host keys, authentication, ssh_config and pre-flight against a real sshd."""

from __future__ import annotations

import getpass
import json
import os
import subprocess

import pytest
from faultproxy import FaultProxy
from remote_support import keygen

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def _without(args: list[str], flag: str) -> list[str]:
    """``args`` minus ``flag`` and its value."""
    i = args.index(flag)
    return args[:i] + args[i + 2:]


def test_unknown_host_is_refused_with_fingerprint_then_accepted(cli, sshd, device_args, remote_models, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    args = _without(device_args(sshd), "--known-hosts") + ["--known-hosts", str(empty), "--no-bench"]
    refused = cli("deploy", remote_models["a"], *args)
    assert refused.exit_code == 3
    assert sshd.fingerprint() in refused.stderr and "ssh-ed25519" in refused.stderr
    assert "--accept-new-host-key" in refused.stderr
    assert not (tmp_path / "device").exists()  # nothing was done on the device

    accepted = cli("deploy", remote_models["a"], *args, "--accept-new-host-key")
    assert accepted.exit_code == 0, accepted.output
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in empty.read_text()
    assert cli("deploy", remote_models["a"], *args).exit_code == 0  # now known, no flag needed


def test_changed_host_key_is_always_refused(cli, sshd, device_args, remote_models, tmp_path):
    impostor = keygen(tmp_path / "other_host_key", "impostor")
    kind, blob = impostor.with_suffix(".pub").read_text().split()[:2]
    wrong = tmp_path / "known_hosts_changed"
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    args = _without(device_args(sshd), "--known-hosts") + ["--known-hosts", str(wrong), "--no-bench"]
    for extra in ([], ["--accept-new-host-key"]):
        result = cli("deploy", remote_models["a"], *args, *extra)
        assert result.exit_code == 3
        assert "HOST KEY CHANGED" in result.stderr and sshd.fingerprint() in result.stderr
        assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}'" in result.stderr  # the entry's name off port 22
    assert wrong.read_text() == f"[127.0.0.1]:{sshd.port} {kind} {blob}\n"  # not overwritten


def test_wrong_key_fails_authentication(cli, sshd, device_args, remote_models, tmp_path):
    stranger = keygen(tmp_path / "stranger", "not-authorized")
    args = _without(device_args(sshd), "-i") + ["-i", str(stranger)]
    result = cli("deploy", remote_models["a"], *args)
    assert result.exit_code == 3
    assert "authentication" in result.stderr and str(stranger) in result.stderr
    assert "Traceback" not in result.output


def test_device_without_tflite_runtime_fails_preflight_with_advice(cli, sshd, device_args, remote_models, tmp_path):
    bare_python = "/usr/bin/python3"
    probe = os.popen(f"{bare_python} -c 'import ai_edge_litert' 2>&1; {bare_python} -c 'import tflite_runtime' 2>&1").read()
    assert probe.count("No module named") == 2, "this test needs a system python without a TFLite runtime"
    args = _without(device_args(sshd), "--remote-python") + ["--remote-python", bare_python]
    result = cli("deploy", remote_models["a"], *args)
    assert result.exit_code == 3
    assert "pip install" in result.stderr and ("ai-edge-litert" in result.stderr or "tflite-runtime" in result.stderr)
    assert bare_python in result.stderr


def test_python_with_numpy_but_no_runtime_gets_install_advice(cli, sshd, device_args, remote_models, tmp_path):
    """The agent's own probe finds no runtime: every runtime module is shadowed by one that fails to import."""
    import sys

    shadow = tmp_path / "shadow"
    for module in ("tflite_runtime", "ai_edge_litert", "tensorflow"):
        (shadow / module).mkdir(parents=True)
        (shadow / module / "__init__.py").write_text(f"raise ImportError('{module} is not installed here')\n")
    python = tmp_path / "python-without-runtime"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    args = _without(device_args(sshd), "--remote-python") + ["--remote-python", str(python)]
    result = cli("deploy", remote_models["a"], *args)
    assert result.exit_code == 3
    assert "no TFLite runtime importable" in result.stderr
    assert f"'{python} -m pip install tflite-runtime' or '{python} -m pip install ai-edge-litert'" in result.stderr


def test_hashed_known_hosts_entries_are_honoured(cli, sshd, device_args, known_hosts, remote_models):
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], check=True, capture_output=True)
    assert "127.0.0.1" not in known_hosts.read_text()  # hostnames are hashed now
    result = cli("deploy", remote_models["a"], *device_args(sshd), "--no-bench")
    assert result.exit_code == 0, result.output


def test_missing_python_and_wrong_arch_fail_preflight(cli, sshd, device_args, remote_models):
    args = _without(device_args(sshd), "--remote-python") + ["--remote-python", "/nonexistent/python3"]
    missing = cli("deploy", remote_models["a"], *args)
    assert missing.exit_code == 3 and "--remote-python" in missing.stderr

    arm = _without(device_args(sshd), "--target") + ["--target", "rpi4"]
    wrong_arch = cli("deploy", remote_models["a"], *arm)
    assert wrong_arch.exit_code == 3
    assert "expects 'aarch64'" in wrong_arch.stderr and os.uname().machine in wrong_arch.stderr


def test_ssh_config_alias_supplies_hostname_port_user_and_key(cli, sshd, device_args, remote_models, tmp_path,
                                                              user_key):
    config = tmp_path / "ssh_config"
    config.write_text(f"Host kitchen-pi\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User {getpass.getuser()}\n"
                      f"  IdentityFile {user_key}\n")
    args = device_args(sshd)
    args = _without(_without(args, "--host"), "-i")
    result = cli("deploy", remote_models["a"], "--host", "kitchen-pi", "--ssh-config", config, *args, "--json")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["devices"][0]
    assert entry["device"] == "kitchen-pi"
    assert entry["host"] == f"{getpass.getuser()}@127.0.0.1:{sshd.port}"


def test_proxy_jump_through_another_device(cli, sshd_pool, device_args, known_hosts, remote_models, tmp_path,
                                          user_key):
    jump, device = sshd_pool[1], sshd_pool[2]
    with FaultProxy(jump.port) as wire:  # the jump host's address: counts what goes through it
        known_hosts.write_text(known_hosts.read_text() + jump.known_hosts_line.replace(str(jump.port), str(wire.port)))
        config = tmp_path / "ssh_config"
        config.write_text(f"Host jumpbox\n  HostName 127.0.0.1\n  Port {wire.port}\n  User {getpass.getuser()}\n"
                          f"  IdentityFile {user_key}\n"
                          f"Host behind\n  HostName 127.0.0.1\n  Port {device.port}\n  ProxyJump jumpbox\n"
                          f"  IdentityFile {user_key}\n")
        args = _without(_without(device_args(device), "--host"), "-i")
        result = cli("deploy", remote_models["a"], "--host", "behind", "--ssh-config", config, *args, "--no-bench")
        assert result.exit_code == 0, result.output
        assert wire.upstream_bytes > remote_models["a"].stat().st_size  # the model went through the jump host
