"""One SSH connection to a device: verified host key, timeouts everywhere, commands and SFTP.

Every failure becomes a :class:`RemoteError` subclass naming the host and what to do;
paramiko's own exceptions never reach the user.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from edgekit import interrupts
from edgekit.errors import AuthenticationError, HostKeyError, Interrupted, RemoteError, UsageError, first_line
from edgekit.remote import hostkeys
from edgekit.remote.sshconfig import HostSpec, next_jump, resolve

# Our receive window and packet size. Uploads are bounded by the server's window, but a
# large window of our own keeps SFTP acknowledgements and agent output flowing.
WINDOW_SIZE = 16 * 1024 * 1024
MAX_PACKET_SIZE = 32768
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


@dataclass(frozen=True)
class ConnectOptions:
    """How to connect and how long to wait; shared by every device of a command."""

    known_hosts: Path | None = None       # where accepted keys go (also read); default ssh_config's / ~/.ssh/known_hosts
    accept_new_host_key: bool = False     # like StrictHostKeyChecking=accept-new (wins over ssh_config's)
    identity: Path | None = None          # -i: a private key file tried first
    ssh_config: Path | None = None        # default ~/.ssh/config when it exists
    connect_timeout: float | None = None  # TCP connect, SSH banner and authentication, each (None: ssh_config's, else 10)
    command_timeout: float = 60.0         # each remote command and SFTP operation
    bench_timeout: float = 600.0          # the on-device benchmark as a whole


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    status: int


DEFAULT_CONNECT_TIMEOUT = 10.0


class CommandTimeout(RemoteError):
    """A remote command did not finish within its time limit."""


class Connection:
    """An open SSH session to ``host``; use as a context manager."""

    def __init__(self, host: HostSpec, options: ConnectOptions, label: str | None = None,
                 via: tuple[HostSpec, ...] = ()) -> None:
        self.host, self.options, self._via = host, options, via
        self.name = host.alias if label in (None, host.alias) else f"{label} ({host.alias})"
        self.connect_timeout = options.connect_timeout or host.connect_timeout or DEFAULT_CONNECT_TIMEOUT
        self._jump: Connection | None = None
        try:
            self._client = self._connect()
        except BaseException:
            self._release_jump()
            raise
        self._sftp: paramiko.SFTPClient | None = None

    @classmethod
    def open(cls, spec: str, options: ConnectOptions, label: str | None = None) -> Connection:
        """Resolve ``spec`` through the ssh config and connect; ``label`` names the device in messages."""
        return cls(resolve(spec, config_path=options.ssh_config, identity=options.identity), options, label)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Best effort: on a dropped connection closing fails too, and must not hide the real error."""
        for closer in (self._sftp.close if self._sftp else None, self._client.close):
            if closer is None:
                continue
            try:
                closer()
            except (OSError, EOFError, paramiko.SSHException):
                pass
        self._release_jump()

    def _release_jump(self) -> None:
        if self._jump is not None:
            JUMP_HOSTS.release(self._jump)
            self._jump = None

    # -- connecting ---------------------------------------------------------------------

    def _connect(self) -> paramiko.SSHClient:
        host, opts = self.host, self.options
        files = hostkeys.key_files(opts.known_hosts, host.known_hosts_files, host.global_known_hosts_files,
                                   host.hash_known_hosts)
        mode = "accept-new" if opts.accept_new_host_key else host.strict_host_key_checking or "yes"
        client = paramiko.SSHClient()
        if mode != "no":
            hostkeys.load(client, files)
        client.set_missing_host_key_policy(hostkeys.VerifyPolicy(self.name, files, mode, str(host.config_file)))
        keys = [str(p) for p in host.identity_files if p.is_file()]
        if opts.identity and not opts.identity.expanduser().is_file():
            raise UsageError(f"-i {opts.identity}: no such private key file")
        sock = self._jump_channel() if host.proxy_jump else None
        try:
            client.connect(host.hostname, port=host.port, username=host.user, key_filename=keys or None,
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, channel_timeout=opts.command_timeout,
                           allow_agent=not host.identities_only, look_for_keys=not host.identities_only,
                           sock=sock, transport_factory=_transport)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise hostkeys.changed_key_error(self.name, exc, files, host.known_hosts_name) from None
        except HostKeyError:
            client.close()
            raise
        except paramiko.AuthenticationException as exc:
            client.close()
            tried = ", ".join(keys) or "the SSH agent and ~/.ssh/id_*"
            raise AuthenticationError(
                f"{self.name}: authentication as '{host.user}' on {host.hostname}:{host.port} failed ({exc}); "
                f"tried {tried}: add your public key to the device's ~/.ssh/authorized_keys or pass -i KEY") from None
        except (socket.timeout, TimeoutError):
            client.close()
            raise RemoteError(f"{self.name}: no answer from {host.hostname}:{host.port} within "
                              f"{self.connect_timeout:g}s (--connect-timeout); is the device on and reachable?") from None
        except (paramiko.SSHException, EOFError) as exc:
            client.close()
            if "No authentication methods available" in str(exc):
                raise AuthenticationError(
                    f"{self.name}: no private key to log in as '{host.user}' on {host.hostname}:{host.port}: "
                    f"no -i KEY, no IdentityFile, no ~/.ssh/id_* and no SSH agent (SSH_AUTH_SOCK); "
                    f"pass -i KEY or add the key to ssh-agent") from None
            raise RemoteError(f"{self.name}: SSH handshake with {host.hostname}:{host.port} failed: {exc}; "
                              f"is an SSH server answering there (timeout {self.connect_timeout:g}s)?") from None
        except OSError as exc:
            client.close()
            raise RemoteError(f"{self.name}: cannot connect to {host.hostname}:{host.port}: "
                              f"{exc.strerror or exc}; is the device on and sshd running?") from None
        client.get_transport().set_keepalive(host.server_alive_interval or max(1, int(opts.command_timeout // 3)))
        return client

    def _jump_channel(self) -> paramiko.Channel:
        """A direct-tcpip channel to the target through the ProxyJump host (which may jump again).

        The jump host's connection is shared by every device behind it (:data:`JUMP_HOSTS`); a
        failure there is this device's failure, with the jump host in the reason."""
        jump_host = next_jump(self.host, self._via, self.options.ssh_config)
        try:
            self._jump = JUMP_HOSTS.acquire(jump_host, self.options, via=(*self._via, self.host))
        except RemoteError as err:
            reason = str(err).removeprefix(f"{jump_host.alias}: ")
            raise type(err)(f"{self.name}: through jump host {jump_host.alias}: {reason}") from None
        try:
            return self._jump._client.get_transport().open_channel(
                "direct-tcpip", (self.host.hostname, self.host.port), ("127.0.0.1", 0),
                timeout=self.connect_timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self._release_jump()
            raise RemoteError(f"{self.name}: jump host {jump_host.alias} could not reach "
                              f"{self.host.hostname}:{self.host.port}: {first_line(exc)}") from None

    # -- using ------------------------------------------------------------------------------

    @property
    def sftp(self) -> paramiko.SFTPClient:
        """The SFTP session (opened on first use, with our large window)."""
        if self._sftp is None:
            try:
                self._sftp = paramiko.SFTPClient.from_transport(
                    self._client.get_transport(), window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise RemoteError(f"{self.name}: cannot open SFTP ({exc}); is the sftp subsystem enabled "
                                  "in the device's sshd_config?") from None
            self._sftp.get_channel().settimeout(self.options.command_timeout)
        return self._sftp

    def start(self, command: str) -> paramiko.Channel:
        """Start ``command`` and return its channel without waiting (a process that lives as long as it)."""
        try:
            channel = self._client.get_transport().open_session(timeout=self.options.command_timeout)
            channel.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise RemoteError(f"{self.name}: cannot run a command over SSH: {exc}") from None
        return channel

    def run(self, command: str, *, timeout: float | None = None, on_stderr_line=None,
            interruptible: bool = False) -> CommandResult:
        """Run ``command`` (a shell line: quote paths with shlex.quote) and wait for it.

        CommandTimeout after ``timeout`` (default: the command timeout); the channel is
        closed then, and the caller kills what must not keep running. ``on_stderr_line``
        sees the first stderr line as soon as it arrives (used to learn a remote pid).
        ``interruptible``: a Ctrl-C/SIGTERM (:mod:`edgekit.interrupts`) raises Interrupted
        the same way (for long commands whose caller can stop them).
        """
        limit = self.options.command_timeout if timeout is None else timeout
        channel = self.start(command)
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + limit
        first_line_seen = on_stderr_line is None
        try:
            while True:
                while channel.recv_ready():
                    out += channel.recv(1 << 16)
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(1 << 16)
                if not first_line_seen and b"\n" in err:
                    first_line_seen = True
                    on_stderr_line(err.split(b"\n", 1)[0].decode("utf-8", "replace"))
                if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                if channel.closed and not channel.exit_status_ready():
                    raise RemoteError(f"{self.name}: the connection dropped while running a command")
                if interruptible and interrupts.requested():
                    raise Interrupted(f"{self.name}: interrupted")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CommandTimeout(f"{self.name}: remote command did not finish within {limit:g}s "
                                         f"(--command-timeout): {command[:80]}")
                select.select([channel], [], [], min(remaining, 0.5))
            status = channel.recv_exit_status()
        finally:
            channel.close()
        return CommandResult(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), status)

    def check(self, command: str, *, what: str, timeout: float | None = None) -> str:
        """Run ``command``; RemoteError naming ``what`` failed unless it exits 0. Returns stdout."""
        result = self.run(command, timeout=timeout)
        if result.status != 0:
            detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.status}"
            raise RemoteError(f"{self.name}: {what} failed: {detail}")
        return result.stdout


class JumpHosts:
    """One SSH connection per jump host for the whole process, shared by every device behind it.

    A fleet of N devices behind one jump host opens N channels over one connection instead of N
    connections, which the jump host's sshd would throttle (MaxStartups: 10 unauthenticated
    connections at a time by default, then it drops new ones at random). paramiko's transport
    opens channels from any thread; the connection is made once, under a per-host lock, and
    closed when its last device is done with it (a dead one is replaced on the next use).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[tuple, list] = {}   # key -> [connection or None, users, connect lock]
        self._keys: dict[int, tuple] = {}     # id(connection) -> its key

    def acquire(self, host: HostSpec, options: ConnectOptions, via: tuple[HostSpec, ...]) -> Connection:
        key = (host, options)
        with self._lock:
            entry = self._hosts.setdefault(key, [None, 0, threading.Lock()])
            entry[1] += 1
        try:
            with entry[2]:
                conn = entry[0]
                if conn is None or not conn._client.get_transport() or not conn._client.get_transport().is_active():
                    if conn is not None:
                        conn.close()  # dead: whoever still holds it fails on its own channel
                    entry[0] = conn = Connection(host, options, via=via)
                    with self._lock:
                        self._keys[id(conn)] = key
            return conn
        except BaseException:
            self._drop(key, entry)
            raise

    def release(self, conn: Connection) -> None:
        with self._lock:
            key = self._keys.get(id(conn))
            entry = self._hosts.get(key)
        if entry is not None:
            self._drop(key, entry)

    def _drop(self, key: tuple, entry: list) -> None:
        with self._lock:
            entry[1] -= 1
            last = entry[1] <= 0
            if last:
                self._hosts.pop(key, None)
                if entry[0] is not None:
                    self._keys.pop(id(entry[0]), None)
        if last and entry[0] is not None:
            entry[0].close()


JUMP_HOSTS = JumpHosts()


def _transport(sock, **kwargs) -> paramiko.Transport:
    """A transport with our window, preferring AES-GCM: one AEAD call per packet instead of
    CTR + HMAC was measured faster for uploads (bench/deploy_throughput.py).

    TCP_NODELAY: each command is a few small packets waiting for an answer; Nagle's algorithm
    held them back ~40 ms per round trip (a ``true`` over SSH: ~50 ms before, 5-10 ms after)."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock, default_window_size=WINDOW_SIZE, default_max_packet_size=MAX_PACKET_SIZE,
                                   **kwargs)
    options = transport.get_security_options()
    options.ciphers = PREFERRED_CIPHERS + tuple(c for c in options.ciphers if c not in PREFERRED_CIPHERS)
    return transport
