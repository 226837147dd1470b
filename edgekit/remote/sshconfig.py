"""Where to connect: ``[user@]host[:port]`` plus ``~/.ssh/config``, resolved the way OpenSSH does.

Only the options edgekit acts on are read: HostName, User, Port, IdentityFile, ProxyJump,
UserKnownHostsFile, GlobalKnownHostsFile, StrictHostKeyChecking, HashKnownHosts,
ConnectTimeout, ServerAliveInterval and IdentitiesOnly; ``Include`` is expanded (paramiko
does not) with OpenSSH's rules: relative paths are under ``~/.ssh``, globs are sorted, an
Include inside a Host/Match block belongs to that block. Explicit values (``user@`` or
``:port`` in the spec, ``-i``, ``--known-hosts``, ``--connect-timeout``) win over the
config file, as on the ``ssh`` command line.
"""

from __future__ import annotations

import getpass
import glob
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from edgekit.errors import ConfigError, UsageError, first_line
from edgekit.textfile import read_text

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
MAX_INCLUDE_DEPTH = 16          # OpenSSH's READCONF_MAX_DEPTH
MAX_JUMPS = 8                   # hops through jump hosts to one destination
STRICT_VALUES = {"yes": "yes", "ask": "yes", "accept-new": "accept-new", "no": "no", "off": "no"}
_INCLUDE = re.compile(r"^\s*include(?:\s*=\s*|\s+)(.+)$", re.I)
_BLOCK = re.compile(r"^\s*(host|match)(\s*=\s*|\s+)", re.I)


@dataclass(frozen=True)
class HostSpec:
    """A fully resolved SSH destination."""

    alias: str                       # what the user wrote (inventory/--host), for messages
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...] = ()
    proxy_jump: str | None = None    # "[user@]host[:port][,...]", resolved again when used
    known_hosts_files: tuple[Path, ...] = ()         # UserKnownHostsFile (empty: ~/.ssh/known_hosts)
    global_known_hosts_files: tuple[Path, ...] = ()  # GlobalKnownHostsFile (empty: /etc/ssh/ssh_known_hosts{,2})
    strict_host_key_checking: str | None = None      # "yes", "accept-new" or "no"
    hash_known_hosts: bool = False
    connect_timeout: float | None = None
    server_alive_interval: int | None = None
    identities_only: bool = False
    config_file: Path | None = None                  # where the options came from, for messages

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
        if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536:
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
        text = "\n".join(_expanded_lines(path, 0))
        try:
            options = paramiko.SSHConfig.from_text(text).lookup(host)
        except Exception as exc:  # paramiko raises several kinds for a malformed file
            raise ConfigError(f"{path}: cannot parse ssh config: {first_line(exc)}") from None
    fields = _Fields(path, host, options)
    resolved_port = port or fields.integer("port", 22, 1, 65535)
    hostname = options.get("hostname", host)
    login = user or options.get("user") or _local_user()
    tokens = {"%%": "%", "%d": str(Path.home()), "%u": _local_user(), "%h": hostname, "%p": str(resolved_port),
              "%r": login, "%n": host}
    identities = [_home(identity)] if identity else []
    identities += [_home(p) for p in options.get("identityfile", [])]
    jump = options.get("proxyjump")
    return HostSpec(alias=spec, hostname=hostname, port=resolved_port, user=login, identity_files=tuple(identities),
                    proxy_jump=None if not jump or jump.lower() == "none" else jump,
                    known_hosts_files=_paths(options.get("userknownhostsfile"), tokens),
                    global_known_hosts_files=_paths(options.get("globalknownhostsfile"), tokens),
                    strict_host_key_checking=fields.choice("stricthostkeychecking", STRICT_VALUES),
                    hash_known_hosts=fields.yes_no("hashknownhosts"),
                    connect_timeout=fields.integer("connecttimeout", None, 0, _MAX_SECONDS),
                    server_alive_interval=fields.integer("serveraliveinterval", None, 0, _MAX_SECONDS),
                    identities_only=fields.yes_no("identitiesonly"), config_file=path if options else None)


class _Fields:
    """Typed values of one host's options, ConfigError naming the file, key and host."""

    def __init__(self, path: Path, host: str, options: dict) -> None:
        self.path, self.host, self.options = path, host, options

    def _fail(self, key: str, wanted: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key} for host '{self.host}' is '{self.options[key]}', expected {wanted}")

    def integer(self, key: str, default, low: int, high: int):
        if key not in self.options:
            return default
        text = str(self.options[key])
        if not re.fullmatch(r"[0-9]{1,10}", text) or not low <= int(text) <= high:
            raise self._fail(key, f"a whole number from {low} to {high}")
        return int(text)

    def yes_no(self, key: str) -> bool:
        value = str(self.options.get(key, "no")).lower()
        if value not in ("yes", "no"):
            raise self._fail(key, "yes or no")
        return value == "yes"

    def choice(self, key: str, values: dict[str, str]) -> str | None:
        if key not in self.options:
            return None
        value = values.get(str(self.options[key]).lower())
        if value is None:
            raise self._fail(key, " / ".join(values))
        return value


def _paths(value: str | None, tokens: dict[str, str]) -> tuple[Path, ...]:
    """A known-hosts option's files (several, space-separated), tokens and ~ expanded; "none" = no file."""
    if not value or value.lower() == "none":
        return ()
    expand = lambda word: re.sub(r"%.", lambda m: tokens.get(m.group(0), m.group(0)), word)  # noqa: E731
    return tuple(_home(expand(word)) for word in value.split())


def _expanded_lines(path: Path, depth: int) -> list[str]:
    """The config's lines with every Include replaced by the files it names (recursively)."""
    if depth > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"{path}: Include nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)")
    lines = read_text(path, "the ssh config").split("\n")
    out, block = [], None
    for line in lines:
        if _BLOCK.match(line):
            block = line
        include = _INCLUDE.match(line)
        if not include:
            out.append(line)
            continue
        for pattern in include.group(1).split():
            full = os.path.expanduser(pattern)
            if not os.path.isabs(full):
                full = str(DEFAULT_SSH_CONFIG.expanduser().parent / full)
            for name in sorted(glob.glob(full)):
                out += _expanded_lines(Path(name), depth + 1)
        out.append(block or "Host *")  # what follows still belongs to the including block
    return out


def next_jump(host: HostSpec, via: tuple[HostSpec, ...], config_path: str | Path | None = None) -> HostSpec:
    """The jump host ``host`` is reached through, as OpenSSH picks it: for ``ProxyJump a,b`` it is b,
    reached in turn through a (which may jump again by its own config).

    ``via``: the hosts this connection is already being made for (outermost first). Going through
    the same host twice (``ProxyJump j,j``) is fine; needing a host, with the same jumps, while
    connecting to it is a loop that would never end: ConfigError naming the chain.
    """
    *before, last = [hop.strip() for hop in host.proxy_jump.split(",")]
    jump = resolve(last, config_path=config_path)
    if before:  # the hops before it are its jumps, whatever its own config says (ssh -J)
        jump = replace(jump, proxy_jump=",".join(before))
    chain = (*via, host)
    if any((h.alias, h.proxy_jump) == (jump.alias, jump.proxy_jump) for h in chain) or len(chain) > MAX_JUMPS:
        where = host.config_file or "the ssh config"
        raise ConfigError(f"{where}: ProxyJump loop: {' -> '.join(h.alias for h in (*chain, jump))}; "
                          "fix the ProxyJump lines")
    return jump


_MAX_SECONDS = 24 * 3600 * 365   # a timeout or interval socket calls accept


def _home(path: str | Path) -> Path:
    """``path`` with ``~`` expanded; ``~name`` of no user stays as written (then not found), as
    ``os.path.expanduser`` leaves it, where ``Path.expanduser`` raises RuntimeError."""
    return Path(os.path.expanduser(path))


def _local_user() -> str:
    return os.environ.get("USER") or getpass.getuser()
