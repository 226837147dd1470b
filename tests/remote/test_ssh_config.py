"""ssh_config as OpenSSH reads it, against real sshd's (and the real ``ssh`` client as the referee)."""

from __future__ import annotations

import getpass
import re
import shutil
import subprocess
import time

import pytest
from faultproxy import FaultProxy

from edgekit.errors import UsageError
from edgekit.remote import ConnectOptions, Connection

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def _args(device_args, server, *drop: str) -> list[str]:
    """``device_args`` without --host, -i and --known-hosts (the ssh_config supplies them) and ``drop``."""
    args = device_args(server)
    for flag in ("--host", "-i", "--known-hosts", *drop):
        i = args.index(flag)
        args = args[:i] + args[i + 2:]
    return args


def _host(alias: str, server, key, extra: str = "") -> str:
    return (f"Host {alias}\n  HostName 127.0.0.1\n  Port {server.port}\n  User {getpass.getuser()}\n"
            f"  IdentityFile {key}\n{extra}")


def _openssh(config, alias: str) -> subprocess.CompletedProcess:
    """The real OpenSSH client on the same config: what edgekit must agree with."""
    return subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", alias, "true"], capture_output=True,
                          text=True, timeout=30)


def test_known_hosts_files_strict_checking_and_hashing_from_ssh_config(cli, sshd_pool, device_args, user_key,
                                                                       remote_models, tmp_path):
    known, fresh = sshd_pool[0], sshd_pool[1]
    empty, recorded, global_file = tmp_path / "kh-first", tmp_path / "kh-second", tmp_path / "kh-global"
    global_file.write_text(known.known_hosts_line)
    files = f"  UserKnownHostsFile {empty} {recorded}\n  GlobalKnownHostsFile {global_file}\n"
    config = tmp_path / "ssh_config"
    config.write_text(_host("known", known, user_key, files) +
                      _host("fresh", fresh, user_key, files + "  StrictHostKeyChecking accept-new\n"
                                                              "  HashKnownHosts yes\n"))
    assert _openssh(config, "known").returncode == 0

    ok = cli("deploy", remote_models["a"], "--host", "known", "--ssh-config", config,
             *_args(device_args, known), "--no-bench")
    assert ok.exit_code == 0, ok.output  # trusted through GlobalKnownHostsFile

    accepted = cli("deploy", remote_models["a"], "--host", "fresh", "--ssh-config", config,
                   *_args(device_args, fresh), "--no-bench")
    assert accepted.exit_code == 0, accepted.output
    line = empty.read_text()  # the first UserKnownHostsFile, hashed
    assert line.startswith("|1|") and "127.0.0.1" not in line
    assert not (tmp_path / "home" / ".ssh" / "known_hosts").exists()
    found = subprocess.run(["ssh-keygen", "-F", f"[127.0.0.1]:{fresh.port}", "-f", str(empty)],
                           capture_output=True, text=True)
    assert found.returncode == 0 and fresh.known_hosts_line.split()[2] in found.stdout
    assert _openssh(config, "fresh").returncode == 0  # OpenSSH reads the entry edgekit wrote


def test_strict_host_key_checking_no_connects_with_a_loud_warning(cli, sshd, device_args, user_key, remote_models,
                                                                  tmp_path):
    from remote_support import keygen

    impostor = keygen(tmp_path / "impostor", "impostor")
    kind, blob = impostor.with_suffix(".pub").read_text().split()[:2]
    stale = tmp_path / "known_hosts"
    stale.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    config = tmp_path / "ssh_config"
    config.write_text(_host("dev", sshd, user_key, f"  UserKnownHostsFile {stale}\n  StrictHostKeyChecking yes\n"))
    refused = cli("deploy", remote_models["a"], "--host", "dev", "--ssh-config", config,
                  *_args(device_args, sshd), "--no-bench")
    assert refused.exit_code == 3 and "HOST KEY CHANGED" in refused.stderr

    config.write_text(_host("dev", sshd, user_key, f"  UserKnownHostsFile {stale}\n  StrictHostKeyChecking no\n"))
    result = cli("deploy", remote_models["a"], "--host", "dev", "--ssh-config", config,
                 *_args(device_args, sshd), "--no-bench")
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.stderr and "HOST KEY CHANGED" in result.stderr and "NOT verified" in result.stderr
    assert stale.read_text() == f"[127.0.0.1]:{sshd.port} {kind} {blob}\n"  # a changed key is never written


def test_include_identities_only_and_connect_timeout(cli, sshd, device_args, user_key, remote_models, tmp_path,
                                                     known_hosts):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "lab.conf").write_text(_host("lab-pi", sshd, user_key,
                                                        f"  UserKnownHostsFile {known_hosts}\n"))
    config = tmp_path / "ssh_config"
    config.write_text(f"Include {tmp_path}/conf.d/*.conf\n")
    assert _openssh(config, "lab-pi").returncode == 0
    included = cli("deploy", remote_models["a"], "--host", "lab-pi", "--ssh-config", config,
                   *_args(device_args, sshd), "--no-bench")
    assert included.exit_code == 0, included.output

    # The right key is in ~/.ssh, the config names another: IdentitiesOnly means ~/.ssh/id_* is not tried.
    from remote_support import keygen

    ssh_dir = tmp_path / "home" / ".ssh"
    ssh_dir.mkdir()
    shutil.copy(user_key, ssh_dir / "id_ed25519")
    stranger = keygen(tmp_path / "stranger", "stranger")
    base = (f"Host only\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User {getpass.getuser()}\n"
            f"  IdentityFile {stranger}\n  UserKnownHostsFile {known_hosts}\n")
    config.write_text(base)
    assert cli("deploy", remote_models["a"], "--host", "only", "--ssh-config", config,
               *_args(device_args, sshd), "--no-bench").exit_code == 0  # found ~/.ssh/id_ed25519
    config.write_text(base + "  IdentitiesOnly yes\n")
    only = cli("deploy", remote_models["a"], "--host", "only", "--ssh-config", config, *_args(device_args, sshd),
               "--no-bench")
    assert only.exit_code == 3 and "authentication" in only.stderr and str(stranger) in only.stderr

    with FaultProxy(sshd.port, stall=True) as proxy:
        config.write_text(base.replace(str(sshd.port), str(proxy.port)) + "  ConnectTimeout 1\n")
        started = time.monotonic()
        stalled = cli("deploy", remote_models["a"], "--host", "only", "--ssh-config", config,
                      *_args(device_args, sshd), "--no-bench")
        assert stalled.exit_code == 3 and re.search(r"(within|timeout) 1s", stalled.stderr), stalled.stderr
        assert time.monotonic() - started < 6


def test_server_alive_interval_sends_keepalives(sshd, user_key, known_hosts, tmp_path):
    with FaultProxy(sshd.port) as wire:
        config = tmp_path / "ssh_config"
        config.write_text(f"Host dev\n  HostName 127.0.0.1\n  Port {wire.port}\n  User {getpass.getuser()}\n"
                          f"  IdentityFile {user_key}\n  ServerAliveInterval 1\n")
        known_hosts.write_text(known_hosts.read_text() + sshd.known_hosts_line.replace(str(sshd.port), str(wire.port)))
        with Connection.open("dev", ConnectOptions(known_hosts=known_hosts, ssh_config=config)):
            time.sleep(0.5)
            idle_start = wire.upstream_bytes
            time.sleep(3.2)  # idle: only keepalives travel
            assert wire.upstream_bytes - idle_start > 0


def test_proxy_jump_hops_in_order_and_may_pass_one_host_twice(cli, sshd_pool, device_args, known_hosts, user_key,
                                                               remote_models, tmp_path):
    """``ProxyJump a,b``: a first, then b through it (OpenSSH's order); ``a,a`` is two hops, not a loop."""
    first, second, device = sshd_pool
    with FaultProxy(first.port) as wire_a, FaultProxy(second.port) as wire_b:
        for server, wire in ((first, wire_a), (second, wire_b)):
            known_hosts.write_text(known_hosts.read_text() +
                                   server.known_hosts_line.replace(str(server.port), str(wire.port)))
        hops = f"  UserKnownHostsFile {known_hosts}\n"
        config = tmp_path / "ssh_config"
        config.write_text(_host("a", wire_a, user_key, hops) + _host("b", wire_b, user_key, hops) +
                          _host("behind", device, user_key, hops + "  ProxyJump a,b\n") +
                          _host("twice", device, user_key, hops + "  ProxyJump a,a\n"))
        for alias in ("behind", "twice"):
            assert _openssh(config, alias).returncode == 0, alias  # the referee takes both
        before_a, before_b = wire_a.upstream_bytes, wire_b.upstream_bytes
        result = cli("deploy", remote_models["a"], "--host", "behind", "--ssh-config", config,
                     *_args(device_args, device), "--no-bench")
        assert result.exit_code == 0, result.output
        through_a, through_b = wire_a.upstream_bytes - before_a, wire_b.upstream_bytes - before_b
        # a is the outer hop: it carries b's session, which carries the device's (and the model)
        assert through_a > through_b > remote_models["a"].stat().st_size
        twice = cli("deploy", remote_models["a"], "--host", "twice", "--ssh-config", config,
                    *_args(device_args, device), "--no-bench")
        assert twice.exit_code == 0, twice.output


def test_next_jump_and_a_real_cycle(tmp_path):
    from edgekit.errors import ConfigError
    from edgekit.remote.sshconfig import next_jump, resolve

    config = tmp_path / "ssh_config"
    config.write_text("Host t\n  ProxyJump a,b\nHost j\n  ProxyJump j\nHost self\n  ProxyJump j,j\n")
    target = resolve("t", config_path=config)
    jump = next_jump(target, (), config)
    assert (jump.alias, jump.proxy_jump) == ("b", "a")  # b is reached through a
    assert next_jump(jump, (target,), config).alias == "a"
    loop = resolve("self", config_path=config)
    hop = next_jump(loop, (), config)  # j through j: explicit hops are fine ...
    assert (hop.alias, hop.proxy_jump) == ("j", "j")
    with pytest.raises(ConfigError, match=r"ProxyJump loop: self -> j -> j"):
        next_jump(hop, (loop,), config)  # ... but j's own config jumps through j for ever


@pytest.mark.parametrize("text, message", [
    (b"Host dev\n  HostName caf\xe9\n", "not UTF-8 text (byte 0xe9 at line 2, column 15)"),
    (b"Host dev\n  Port 99999\n", "port for host 'dev' is '99999', expected a whole number from 1 to 65535"),
    ("Host dev\n  Port \u0663\n".encode(), "port for host 'dev' is '\u0663', expected a whole number"),
    (b"Host dev\n  ConnectTimeout 1e9\n", "connecttimeout for host 'dev' is '1e9', expected a whole number"),
    (b"Host dev\n  HostName x\0\n", "a NUL byte at line 2, column 13"),
])
def test_a_bad_ssh_config_is_one_config_error(tmp_path, text, message):
    from edgekit.errors import ConfigError
    from edgekit.remote.sshconfig import resolve

    config = tmp_path / "ssh_config"
    config.write_bytes(text)
    with pytest.raises(ConfigError) as info:
        resolve("dev", config_path=config)
    assert str(info.value).startswith(f"{config}: ") and message in str(info.value), str(info.value)
    with pytest.raises(UsageError, match="port '\u0663' is not a number"):
        resolve("dev:\u0663", config_path=config)
