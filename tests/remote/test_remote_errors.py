"""Bad input and broken environments give one clear line (no traceback), against a real sshd."""

from __future__ import annotations

import subprocess
import threading

import pytest
from faultproxy import FaultProxy
from remote_support import file_sha256

from edgekit.errors import ConfigError
from edgekit.targets import list_targets, load_target

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def _one_error_line(result) -> str:
    errors = [line for line in result.stderr.splitlines() if line.startswith("edgekit: error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


def _without(args: list[str], flag: str) -> list[str]:
    i = args.index(flag)
    return args[:i] + args[i + 2:]


def test_unreadable_inventory_and_target_files(cli, remote_models, tmp_path):
    inventory = tmp_path / "inventory.toml"
    inventory.write_bytes(b'[devices.pi]\nhost = "caf\xe9"\n')
    result = cli("deploy", remote_models["a"], "--inventory", inventory, "--device", "pi")
    assert result.exit_code == 2
    assert "inventory.toml: not UTF-8 text (byte 0xe9" in _one_error_line(result)

    targets = tmp_path / "targets"
    (targets / "x.toml").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"x.toml: cannot read a target profile: Is a directory"):
        list_targets([targets])
    (targets / "x.toml").rmdir()
    (targets / "y.toml").write_bytes(b'name = "y"\ndescription = "\xff"\n')
    with pytest.raises(ConfigError, match=r"y.toml: not UTF-8 text \(byte 0xff"):
        load_target("y", [targets])
    (targets / "y.toml").write_text((load_target("local").path.read_text()).replace('"local"', '"y"') +
                                    "keep_models = 0\n")
    with pytest.raises(ConfigError, match="keep_models' must be at least 1"):
        load_target("y", [targets])


def test_proxy_jump_loop_is_one_line(cli, sshd, device_args, remote_models, tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(f"Host a\n  HostName 127.0.0.1\n  Port {sshd.port}\n  ProxyJump b\n"
                      f"Host b\n  HostName 127.0.0.1\n  Port {sshd.port}\n  ProxyJump a\n")
    result = cli("deploy", remote_models["a"], *_without(device_args(sshd), "--host"), "--host", "a",
                 "--ssh-config", config)
    assert result.exit_code == 2
    assert "ProxyJump loop: a -> b -> a" in _one_error_line(result)


def test_no_key_and_no_agent_is_an_authentication_error(cli, sshd, device_args, remote_models):
    result = cli("deploy", remote_models["a"], *_without(device_args(sshd), "-i"))
    assert result.exit_code == 3
    line = _one_error_line(result)
    assert "no private key" in line and "-i KEY" in line and "SSH server answering" not in line


def test_unwritable_known_hosts_names_the_file(cli, sshd, device_args, remote_models, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    target = blocker / "known_hosts"
    args = _without(device_args(sshd), "--known-hosts") + ["--known-hosts", str(target), "--accept-new-host-key"]
    result = cli("deploy", remote_models["a"], *args)
    assert result.exit_code == 3
    line = _one_error_line(result)
    assert f"cannot record the host key of [127.0.0.1]:{sshd.port} in {target}" in line and "is the device on" not in line


@pytest.fixture
def small_disk(tmp_path):
    """A 40 MB tmpfs as the device's filesystem."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)]).returncode != 0:
        from helpers.support import unavailable

        unavailable("needs root and tmpfs mounts")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_mid_upload_is_named(cli, sshd, device_args, known_hosts, remote_models, small_disk):
    device_dir = small_disk / "edgekit"
    assert cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    filled = threading.Event()

    def fill_when_upload_starts():
        import time

        deadline = time.monotonic() + 60
        while not list((device_dir / "tmp").glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            with open(small_disk / "filler", "wb") as fh:
                while True:
                    fh.write(b"\0" * (1 << 20))
                    fh.flush()
        except OSError:
            filled.set()

    filler = threading.Thread(target=fill_when_upload_starts)
    with FaultProxy(sshd.port, rate=4_000_000) as slow:
        known_hosts.write_text(known_hosts.read_text() + sshd.known_hosts_line.replace(str(sshd.port), str(slow.port)))
        filler.start()
        result = cli("deploy", remote_models["big"], *device_args(sshd, device_dir, port=slow.port), "--no-bench")
        filler.join(timeout=60)
    assert filled.is_set()
    assert result.exit_code == 3
    line = _one_error_line(result)
    assert "the device's disk is full" in line and "previous model stays active" in line, line
    assert file_sha256(device_dir / "current") == file_sha256(remote_models["a"])
    assert list((device_dir / "tmp").glob("*.part")) == []  # the partial upload was removed
