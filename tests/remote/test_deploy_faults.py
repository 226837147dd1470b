"""Faults between edgekit and the device, injected by a TCP proxy or by killing the agent."""

from __future__ import annotations

import getpass
import os
import signal
import threading
import time

import pytest
from faultproxy import FaultProxy
from remote_support import agent_pids, file_sha256

from edgekit.errors import AgentError
from edgekit.remote import ConnectOptions, Device, deploy

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def _trust_proxy(known_hosts, sshd, proxy) -> None:
    """The proxy's address presents the sshd's key: trust it there too."""
    known_hosts.write_text(known_hosts.read_text() + sshd.known_hosts_line.replace(str(sshd.port), str(proxy.port)))


def test_cut_during_upload_keeps_previous_model_and_retry_cleans_up(cli, sshd, device_args, known_hosts,
                                                                    remote_models, tmp_path):
    device_dir = tmp_path / "device"
    big, small = remote_models["big"], remote_models["a"]
    assert big.stat().st_size > 10_000_000
    assert cli("deploy", small, *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    small_sha = file_sha256(small)

    with FaultProxy(sshd.port, cut_after=4_000_000) as proxy:
        _trust_proxy(known_hosts, sshd, proxy)
        cut = cli("deploy", big, *device_args(sshd, device_dir, port=proxy.port), "--no-bench")
        assert proxy.cut.is_set()
    assert cut.exit_code == 3, cut.output
    assert "previous model stays active" in cut.stderr or "dropped" in cut.stderr, cut.stderr
    assert os.readlink(device_dir / "current") == f"models/{small_sha}.tflite"
    assert file_sha256(device_dir / "current") == small_sha
    assert not (device_dir / "models" / f"{file_sha256(big)}.tflite").exists()
    assert [p.suffix for p in (device_dir / "tmp").iterdir()] == [".part"]  # the interrupted upload

    retry = cli("deploy", big, *device_args(sshd, device_dir), "--no-bench")
    assert retry.exit_code == 0, retry.output
    assert "removed 1 stray partial upload" in retry.stderr
    assert list((device_dir / "tmp").iterdir()) == []
    assert file_sha256(device_dir / "current") == file_sha256(big)
    assert os.readlink(device_dir / "previous") == f"models/{small_sha}.tflite"


def test_silent_server_fails_within_connect_timeout(cli, sshd, device_args, known_hosts, remote_models):
    with FaultProxy(sshd.port, stall=True) as proxy:
        _trust_proxy(known_hosts, sshd, proxy)
        started = time.monotonic()
        result = cli("deploy", remote_models["a"], *device_args(sshd, port=proxy.port), "--connect-timeout", "2")
        elapsed = time.monotonic() - started
    assert result.exit_code == 3
    assert "2s" in result.stderr, result.stderr
    assert elapsed < 8


def test_server_stalling_mid_upload_fails_within_command_timeout(cli, sshd, device_args, known_hosts,
                                                                 remote_models):
    with FaultProxy(sshd.port, stall_after=3_000_000) as proxy:
        _trust_proxy(known_hosts, sshd, proxy)
        started = time.monotonic()
        result = cli("deploy", remote_models["big"], *device_args(sshd, port=proxy.port), "--no-bench",
                     "--command-timeout", "3")
        elapsed = time.monotonic() - started
    assert result.exit_code == 3, result.output
    assert "interrupted" in result.stderr or "did not finish" in result.stderr, result.stderr
    assert elapsed < 20


def test_agent_killed_mid_benchmark_is_reported_and_next_run_succeeds(cli, sshd, device_args, user_key,
                                                                       known_hosts, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    import sys

    device = Device(name="victim", host=f"{getpass.getuser()}@127.0.0.1:{sshd.port}", target="local",
                    remote_python=sys.executable, remote_dir=str(device_dir))
    options = ConnectOptions(known_hosts=known_hosts, identity=user_key, bench_timeout=60)
    errors: list[Exception] = []

    def long_bench():
        try:
            deploy(remote_models["a"], device, runs=100_000_000, warmup=0, options=options)
        except AgentError as exc:
            errors.append(exc)

    worker = threading.Thread(target=long_bench)
    worker.start()
    deadline = time.monotonic() + 60
    switched = f"models/{file_sha256(remote_models['a'])}.tflite"  # the benchmark comes right after the switch
    while not ((device_dir / "current").is_symlink() and os.readlink(device_dir / "current") == switched
               and (pids := agent_pids(str(device_dir)))) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not pids:
        worker.join()
        pytest.fail(f"the agent never started on the device: {errors}")
    time.sleep(1.0)  # let it get into its timed runs
    os.kill(pids[0], signal.SIGKILL)
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(errors) == 1 and "signal 9" in str(errors[0]) and "victim" in str(errors[0])

    again = cli("deploy", remote_models["a"], *device_args(sshd, device_dir))
    assert again.exit_code == 0, again.output
    assert "cached, 0 model bytes sent" in again.stdout and "p50" in again.stdout


def test_benchmark_over_time_limit_is_killed(sshd, user_key, known_hosts, remote_models, tmp_path):
    """A device Python whose agent hangs in `bench`: killed after --bench-timeout, reported, gone."""
    import sys

    device_dir = tmp_path / "device"
    hanging = tmp_path / "hanging-python"
    hang = tmp_path / "hang.py"  # the device's agent, with a runtime that never returns from a model run
    hang.write_text("import importlib.util, sys, time\n"
                    "spec = importlib.util.spec_from_file_location('agent', sys.argv[1])\n"
                    "agent = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(agent)\n"
                    "agent.COMMANDS['bench'] = lambda args, output: time.sleep(300)\n"
                    "sys.exit(agent.main(sys.argv[2:]))\n")
    hanging.write_text(f'#!/bin/sh\nif [ "$2" = session ]; then exec {sys.executable} {hang} "$@"; fi\n'
                       f'exec {sys.executable} "$@"\n')
    hanging.chmod(0o755)
    device = Device(name="slow", host=f"{getpass.getuser()}@127.0.0.1:{sshd.port}", target="local",
                    remote_python=str(hanging), remote_dir=str(device_dir))
    started = time.monotonic()
    with pytest.raises(AgentError, match=r"slow .*did not finish within 3s.*killed"):
        deploy(remote_models["a"], device, options=ConnectOptions(known_hosts=known_hosts, identity=user_key,
                                                                  bench_timeout=3))
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 5
    while agent_pids(str(device_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert agent_pids(str(device_dir)) == []
