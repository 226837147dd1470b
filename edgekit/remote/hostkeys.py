"""Host-key checking as OpenSSH's ``StrictHostKeyChecking`` does it (``yes``, ``accept-new``, ``no``).

Keys are looked up in the user's known-hosts files (ssh_config ``UserKnownHostsFile``,
several allowed; default ``~/.ssh/known_hosts``), ``--known-hosts`` and the global ones
(``GlobalKnownHostsFile``; default ``/etc/ssh/ssh_known_hosts{,2}``). Accepted keys go to
``--known-hosts``, else the first user file, hashed when ``HashKnownHosts yes``.

- ``yes`` (default): an unknown host is refused with its key type and SHA256 fingerprint.
- ``accept-new`` (or ``--accept-new-host-key``): an unknown host's key is recorded.
- ``no``: nothing is verified; unknown keys are recorded and a changed key is let through,
  each with a loud WARNING on stderr.

Under ``yes``/``accept-new`` a changed key is always refused (paramiko raises
BadHostKeyException before any policy is consulted).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import paramiko

from edgekit.console import info
from edgekit.errors import HostKeyError

USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
GLOBAL_KNOWN_HOSTS = (Path("/etc/ssh/ssh_known_hosts"), Path("/etc/ssh/ssh_known_hosts2"))


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint (``ssh-keygen -lf``)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class KeyFiles:
    """Which known-hosts files are read, and where an accepted key is written."""

    read: tuple[Path, ...]
    write_to: Path
    hashed: bool = False        # HashKnownHosts: record "|1|salt|hash" instead of the name

    def describe(self) -> str:
        return " or ".join(str(p) for p in self.read if p.is_file())


def key_files(known_hosts: str | Path | None, user_files: tuple[Path, ...] = (),
              global_files: tuple[Path, ...] = (), hashed: bool = False) -> KeyFiles:
    """--known-hosts, then ssh_config's UserKnownHostsFile / GlobalKnownHostsFile, then OpenSSH's defaults."""
    users = list(user_files) or [USER_KNOWN_HOSTS.expanduser()]
    write_to = Path(known_hosts).expanduser() if known_hosts else users[0]
    read = dict.fromkeys([*users, write_to, *(global_files or GLOBAL_KNOWN_HOSTS)])
    return KeyFiles(tuple(read), write_to, hashed)


def load(target: paramiko.SSHClient | paramiko.HostKeys, files: KeyFiles) -> None:
    """Load every existing known-hosts file (into a client as system, read-only, keys)."""
    for path in files.read:
        if path.is_file():
            if isinstance(target, paramiko.SSHClient):
                target.load_system_host_keys(str(path))
            else:
                target.load(str(path))


class VerifyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko for hosts not found in the keys loaded into the client."""

    def __init__(self, alias: str, files: KeyFiles, mode: str, source: str) -> None:
        self.alias, self.files, self.mode, self.source = alias, files, mode, source
        self.known = paramiko.HostKeys()
        if mode == "no":  # nothing was loaded into the client: compare here, and only warn
            load(self.known, files)

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self.mode == "no":
            self._unverified(hostname, key)
        elif self.mode != "accept-new":
            raise HostKeyError(
                f"{self.alias}: unknown host key for {hostname} ({key.get_name()} {fingerprint(key)}); "
                f"if this fingerprint is the device's, re-run with --accept-new-host-key to record it "
                f"in {self.files.write_to}")
        else:
            self._record(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)

    def _unverified(self, hostname: str, key: paramiko.PKey) -> None:
        recorded = (self.known.lookup(hostname) or {}).get(key.get_name())
        if recorded is not None and recorded == key:
            return
        what = (f"HOST KEY CHANGED (recorded {fingerprint(recorded)})" if recorded is not None else
                "unknown host key, recorded without asking")
        info(f"edgekit: WARNING: {self.alias}: {what} for {hostname} ({key.get_name()} {fingerprint(key)}); "
             f"connecting anyway because of 'StrictHostKeyChecking no' ({self.source}): the device's identity "
             "is NOT verified")
        if recorded is None:
            self._record(hostname, key)

    def _record(self, hostname: str, key: paramiko.PKey) -> None:
        try:
            append(self.files.write_to, hostname, key, hashed=self.files.hashed)
        except OSError as exc:
            raise HostKeyError(f"{self.alias}: cannot record the host key of {hostname} in {self.files.write_to}: "
                               f"{exc.strerror or exc}; pass --known-hosts a file you can write") from None


def append(path: Path, hostname: str, key: paramiko.PKey, *, hashed: bool = False) -> None:
    """Append one ``host keytype base64`` line (created 0600 like OpenSSH's file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = paramiko.HostKeys.hash_host(hostname) if hashed else hostname
    line = f"{name} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(line)


def changed_key_error(alias: str, exc: paramiko.BadHostKeyException, files: KeyFiles,
                      known_hosts_name: str) -> HostKeyError:
    """The message for a host whose key differs from the recorded one (possible MITM).

    ``known_hosts_name`` is the entry's name (``[host]:port`` off port 22), which is what
    ``ssh-keygen -R`` needs; paramiko's exception only has the bare host.
    """
    return HostKeyError(
        f"{alias}: HOST KEY CHANGED for {known_hosts_name}: the device presented {exc.key.get_name()} "
        f"{fingerprint(exc.key)} but {files.describe()} records {exc.expected_key.get_name()} "
        f"{fingerprint(exc.expected_key)}; this may be an attack. If the device was re-installed, remove the "
        f"old key (ssh-keygen -R '{known_hosts_name}' -f FILE) and connect again")
