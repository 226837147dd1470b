"""Fleets at scale: 60 devices under a low open-file limit, one device killed mid-fleet."""

from __future__ import annotations

import getpass
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from remote_support import file_sha256, free_port, start_sshd

pytestmark = pytest.mark.ssh  # real sshd's on 127.0.0.1


def _inventory(path: Path, devices: list[tuple[str, int]], root: Path) -> None:
    path.write_text("".join(
        f'[devices.{name}]\nhost = "{getpass.getuser()}@127.0.0.1:{port}"\ntarget = "local"\ngroups = ["lab"]\n'
        f'remote_python = "{sys.executable}"\nremote_dir = "{root / name}"\n\n' for name, port in devices))


def _edgekit(*args, limit_files: int | None = None) -> subprocess.Popen:
    def limit():
        if limit_files:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit_files, limit_files))
    return subprocess.Popen([sys.executable, "-m", "edgekit", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limit)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, frontier = [], [pid]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


# A device's own line: "devN: ...", "devN (user@127.0.0.1:port): ..." (progress), "ok   devN: ..." (result),
# "edgekit: error: devN...: ..." (a failure); anything else is edgekit's own line.
_DEVICE_LINE = re.compile(r"^(ok   |edgekit: error: )?dev\d+( \([^)]*\))?: \S")
_OWN_LINE = re.compile(r"^(deploying \S+ to \d+ device\(s\)|edgekit: --parallel \d+ lowered to \d+: .*|"
                       r"\d+ of \d+ device\(s\) ok, \d+ failed)$")


def test_sixty_devices_under_ulimit_128_whole_lines_and_no_failure(sshd_pool, user_key, known_hosts, remote_models,
                                                                    tmp_path):
    """--parallel 60 with 128 open files (hard limit too): parallelism is lowered in one line, every device
    is deployed, and no line holds the text of two devices."""
    names = [f"dev{i}" for i in range(60)]
    _inventory(tmp_path / "edgekit.toml", [(n, sshd_pool[i % 3].port) for i, n in enumerate(names)], tmp_path)
    run = _edgekit("deploy", remote_models["a"], "--group", "lab", "--parallel", "60", "--verbose", "--no-bench",
                   "-i", user_key, "--known-hosts", known_hosts, limit_files=128)
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err[-3000:]
    lines = out.splitlines() + err.splitlines()
    garbled = [line for line in lines if not (_DEVICE_LINE.match(line) or _OWN_LINE.match(line))
               or len(re.findall(r"(?<![\w/.-])dev\d+", line)) > 1]
    assert not garbled, garbled[:5]
    assert re.search(r"^edgekit: --parallel 60 lowered to \d+: this process may open 128 files", err, re.M), err[:500]
    assert sorted(line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("ok ")) == sorted(names)
    assert "60 of 60 device(s) ok, 0 failed" in out
    sha = file_sha256(remote_models["a"])
    assert all(file_sha256(tmp_path / n / "current") == sha for n in names)


def test_a_device_killed_mid_fleet_is_named_and_the_others_finish(ssh_root, sshd_pool, user_key, known_hosts,
                                                                 remote_models, tmp_path):
    """The victim's sshd and everything under it is killed during its (throttled) upload: the fleet goes on,
    the compact output has one line per device, and the summary names the victim with its reason."""
    victim = start_sshd(ssh_root / f"victim-{tmp_path.name}", ssh_root / "authorized_keys")
    big = remote_models["big"]
    try:
        with FaultProxy(victim.port, rate=2_500_000) as slow:
            known_hosts.write_text(known_hosts.read_text()
                                   + victim.known_hosts_line.replace(str(victim.port), str(slow.port)))
            devices = [("victim", slow.port)] + [(f"dev{i}", sshd_pool[i % 3].port) for i in range(5)]
            _inventory(tmp_path / "edgekit.toml", devices, tmp_path)
            run = _edgekit("deploy", big, "--group", "lab", "--parallel", "6", "--runs", "3", "--warmup", "0",
                           "-i", user_key, "--known-hosts", known_hosts)
            parts = tmp_path / "victim" / "tmp"
            deadline = time.monotonic() + 120
            while not (parts.is_dir() and any(p.stat().st_size > 0.2 * big.stat().st_size
                                              for p in parts.glob("*.part"))):
                assert time.monotonic() < deadline and run.poll() is None, "the victim's upload never got going"
                time.sleep(0.05)
            for pid in [victim.process.pid, *_descendants(victim.process.pid)]:
                os.kill(pid, signal.SIGKILL)
            out, err = run.communicate(timeout=300)
    finally:
        victim.process.wait(timeout=10)
    assert run.returncode == 3, err
    assert "Traceback" not in err
    assert sorted(line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("ok ")) == \
        [f"dev{i}" for i in range(5)]
    assert all(len(line) < 120 for line in out.splitlines() if line.startswith("ok "))  # compact: short lines
    assert not [line for line in err.splitlines() if "pushing" in line]  # no progress lines without --verbose
    summary = out.splitlines()[out.splitlines().index("5 of 6 device(s) ok, 1 failed") + 1:]
    assert len(summary) == 1 and summary[0].startswith("  failed: victim"), out
    assert re.search(r"dropped|interrupted|closed", summary[0]), summary[0]
    sha = file_sha256(big)
    assert all(file_sha256(tmp_path / f"dev{i}" / "current") == sha for i in range(5))
    assert not (tmp_path / "victim" / "current").exists()


def test_sixty_devices_behind_one_stock_jump_host(ssh_root, sshd_pool, user_key, known_hosts, remote_models,
                                                  tmp_path):
    """A jump host with OpenSSH's default MaxStartups (10:30:100): 60 devices at --parallel 16 share one
    connection to it, none fails; a device the jump host cannot reach is named, with the jump host.

    ~22 s (measured at load 10 on 2 cores): the 60 deploys are the claim itself (one SSH command per
    deploy since the device-side start runs in one process; it took ~80 s with five)."""
    jump = start_sshd(ssh_root / f"jump-{tmp_path.name}", ssh_root / "authorized_keys", {"LogLevel": "INFO"})
    try:
        known_hosts.write_text(known_hosts.read_text() + jump.known_hosts_line)
        user = getpass.getuser()
        hosts = [(f"dev{i}", sshd_pool[i % 3].port) for i in range(60)] + [("dev-gone", free_port())]
        config = tmp_path / "ssh_config"
        config.write_text(f"Host jump\n  HostName 127.0.0.1\n  Port {jump.port}\n  User {user}\n"
                          f"  IdentityFile {user_key}\n" + "".join(
                              f"Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n"
                              f"  IdentityFile {user_key}\n  ProxyJump jump\n" for name, port in hosts))
        (tmp_path / "edgekit.toml").write_text("".join(
            f'[devices.{name}]\nhost = "{name}"\ntarget = "local"\ngroups = ["lab"]\n'
            f'remote_python = "{sys.executable}"\nremote_dir = "{tmp_path / name}"\n\n' for name, _ in hosts))
        run = _edgekit("deploy", remote_models["a"], "--group", "lab", "--parallel", "16", "--no-bench",
                       "--ssh-config", config, "--known-hosts", known_hosts, "--connect-timeout", "5")
        out, err = run.communicate(timeout=900)
    finally:
        jump.stop()
    assert run.returncode == 3, err[-3000:]
    assert "60 of 61 device(s) ok, 1 failed" in out, out[-3000:]
    failed = [line for line in out.splitlines() if line.startswith("  failed: ")]
    assert len(failed) == 1 and failed[0].startswith("  failed: dev-gone") and "jump host jump" in failed[0], failed
    sha = file_sha256(remote_models["a"])
    assert all(file_sha256(tmp_path / f"dev{i}" / "current") == sha for i in range(60))
    log = (ssh_root / f"jump-{tmp_path.name}" / "sshd.log").read_text()
    assert log.count("Accepted publickey") <= 4, log[-2000:]  # one shared connection (a few if it idled to 0)
