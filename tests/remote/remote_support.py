"""Helpers of the remote tests: start a real sshd, find a test's agent processes."""

from __future__ import annotations

import getpass
import hashlib
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = next((p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
                    if Path(p).exists()), "internal-sftp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


@dataclass
class Sshd:
    """One running sshd; ``spec`` is what to pass to --host."""

    port: int
    host_key: Path
    process: subprocess.Popen

    @property
    def spec(self) -> str:
        return f"{getpass.getuser()}@127.0.0.1:{self.port}"

    @property
    def known_hosts_line(self) -> str:
        kind, blob = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}\n"

    def fingerprint(self) -> str:
        out = subprocess.run(["ssh-keygen", "-lf", str(self.host_key.with_suffix(".pub"))], check=True,
                             capture_output=True, text=True).stdout
        return out.split()[1]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# Raised for the many connections of the fleet tests; a jump host test uses OpenSSH's own defaults.
TEST_SETTINGS = {"MaxStartups": "50", "MaxSessions": "50", "LogLevel": "ERROR"}


def start_sshd(directory: Path, authorized_keys: Path, settings: dict[str, str] = TEST_SETTINGS) -> Sshd:
    directory.mkdir(parents=True, exist_ok=True)
    host_key = keygen(directory / "ssh_host_ed25519_key", "edgekit-test-host")
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {directory / 'sshd.pid'}
AuthorizedKeysFile {authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowTcpForwarding yes
Subsystem sftp {SFTP_SERVER}
""" + "".join(f"{key} {value}\n" for key, value in settings.items()))
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege-separation dir sshd insists on
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                               stderr=open(directory / "sshd.log", "wb"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return Sshd(port, host_key, process)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(directory / 'sshd.log').read_text()}")
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("sshd did not start listening within 10s")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flip_two_bytes(path: Path) -> None:
    """Corrupt a file on the "device" the way a bad SD card does: same size, two bytes changed."""
    data = bytearray(path.read_bytes())
    for offset in (len(data) // 3, 2 * len(data) // 3):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def agent_pids(marker: str, *more: str) -> list[int]:
    """Pids of agent processes (a one-shot ``bench`` or a deploy's ``session``) whose command line contains
    ``marker`` (a test's own remote dir or model) and every one of ``more``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [part.decode(errors="replace") for part in cmdline]
        if any("edgekit_agent" in part for part in text) and ("bench" in text or "session" in text) and \
                all(any(m in p for p in text) for m in (marker, *more)):
            pids.append(int(proc.name))
    return pids
