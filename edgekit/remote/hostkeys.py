"""Host-key checking like OpenSSH's ``StrictHostKeyChecking=yes`` (or ``accept-new``).

Keys are looked up in ``~/.ssh/known_hosts`` and edgekit's known-hosts file (the same
file unless ``--known-hosts`` says otherwise). An unknown host is refused with its key
type and SHA256 fingerprint, unless the user asked to accept new keys: then the key is
appended to the known-hosts file. A changed key is always refused (paramiko raises
BadHostKeyException before any policy is consulted).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import paramiko

from edgekit.errors import HostKeyError

USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint (``ssh-keygen -lf``)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def key_files(known_hosts: str | Path | None) -> tuple[list[Path], Path]:
    """(files to read, file to append accepted keys to)."""
    user_file = USER_KNOWN_HOSTS.expanduser()
    write_to = Path(known_hosts).expanduser() if known_hosts else user_file
    return list(dict.fromkeys([user_file, write_to])), write_to


def load(client: paramiko.SSHClient, files: list[Path]) -> None:
    """Load every existing known-hosts file into the client as system (read-only) keys."""
    for path in files:
        if path.is_file():
            client.load_system_host_keys(str(path))


class VerifyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko only for hosts not found in the loaded known_hosts files."""

    def __init__(self, alias: str, write_to: Path, accept_new: bool) -> None:
        self.alias, self.write_to, self.accept_new = alias, write_to, accept_new

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if not self.accept_new:
            raise HostKeyError(
                f"{self.alias}: unknown host key for {hostname} ({key.get_name()} {fingerprint(key)}); "
                f"if this fingerprint is the device's, re-run with --accept-new-host-key to record it "
                f"in {self.write_to}")
        append(self.write_to, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


def append(path: Path, hostname: str, key: paramiko.PKey) -> None:
    """Append one ``host keytype base64`` line (created 0600 like OpenSSH's file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(line)


def changed_key_error(alias: str, exc: paramiko.BadHostKeyException, files: list[Path]) -> HostKeyError:
    """The message for a host whose key differs from the recorded one (possible MITM)."""
    where = " or ".join(str(p) for p in files)
    return HostKeyError(
        f"{alias}: HOST KEY CHANGED for {exc.hostname}: the device presented {exc.key.get_name()} "
        f"{fingerprint(exc.key)} but {where} records {exc.expected_key.get_name()} "
        f"{fingerprint(exc.expected_key)}; this may be an attack. If the device was re-installed, remove the "
        f"old key (ssh-keygen -R '{exc.hostname}' -f FILE) and connect again")
