"""Where to connect: ``[user@]host[:port]`` plus ``~/.ssh/config``, resolved the way OpenSSH does.

Only the options edgekit acts on are read: HostName, User, Port, IdentityFile and
ProxyJump. Explicit values (``user@`` or ``:port`` in the spec, ``-i``) win over the
config file, as on the ``ssh`` command line.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import ConfigError, UsageError

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")


@dataclass(frozen=True)
class HostSpec:
    """A fully resolved SSH destination."""

    alias: str                       # what the user wrote (inventory/--host), for messages
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...] = ()
    proxy_jump: str | None = None    # "[user@]host[:port][,...]", resolved again when used

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH looks up in known_hosts: ``host`` or ``[host]:port``."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    def __str__(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"


def split_host(spec: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` (``[v6addr]:port`` too) -> (user, host, port)."""
    user, _, rest = spec.rpartition("@")
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
    else:
        host, port_text = rest, ""
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"host '{spec}': port '{port_text}' is not a number between 1 and 65535")
        port = int(port_text)
    if not host:
        raise UsageError(f"host '{spec}': no host name; use [user@]host[:port]")
    return user or None, host, port


def resolve(spec: str, *, config_path: str | Path | None = None, identity: str | Path | None = None) -> HostSpec:
    """Resolve ``spec`` through the ssh config (``config_path`` or ``~/.ssh/config`` if present)."""
    import paramiko

    user, host, port = split_host(spec)
    options: dict = {}
    path = Path(config_path).expanduser() if config_path else DEFAULT_SSH_CONFIG.expanduser()
    if config_path and not path.is_file():
        raise UsageError(f"--ssh-config {config_path}: no such file")
    if path.is_file():
        try:
            options = paramiko.SSHConfig.from_path(str(path)).lookup(host)
        except Exception as exc:  # paramiko raises several kinds for a malformed file
            raise ConfigError(f"{path}: cannot parse ssh config: {exc}") from None
    try:
        resolved_port = port or int(options.get("port", 22))
    except ValueError:
        raise ConfigError(f"{path}: Port for host '{host}' is not a number") from None
    identities = [Path(identity).expanduser()] if identity else []
    identities += [Path(p).expanduser() for p in options.get("identityfile", [])]
    jump = options.get("proxyjump")
    return HostSpec(alias=spec, hostname=options.get("hostname", host), port=resolved_port,
                    user=user or options.get("user") or _local_user(), identity_files=tuple(identities),
                    proxy_jump=None if not jump or jump.lower() == "none" else jump)


def _local_user() -> str:
    return os.environ.get("USER") or getpass.getuser()
