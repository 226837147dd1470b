"""One deploy (or rollback) per device at a time: an flock(2) held by a process on the device.

The lock is a tiny Python process on the device that takes ``flock`` on
``<remote dir>/lock`` and then reads its stdin until edgekit closes the channel. The
kernel drops the lock when that process ends, and it ends when the SSH session does --
also when edgekit is killed with SIGKILL or the network drops -- so a lock is never left
behind. A second deploy waits a few seconds for it, then fails naming the device.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from typing import Iterator

import paramiko

from edgekit.errors import RemoteError
from edgekit.remote.connection import Connection
from edgekit.remote.push import STDLIB_ONLY

# How long a second deploy waits for the first: enough for the session of a killed
# edgekit to be torn down by sshd, short enough to tell a user at once.
WAIT_SECONDS = 3.0
BUSY_EXIT = 75

_HOLD = """
import errno, fcntl, os, sys, time
path, wait = sys.argv[1], float(sys.argv[2])
os.makedirs(os.path.dirname(path), exist_ok=True)
lock = open(path, "a")
deadline = time.monotonic() + wait
while True:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
            print("busy" if exc.errno in (errno.EAGAIN, errno.EACCES) else "error %s" % exc, flush=True)
            sys.exit(75)
        time.sleep(0.1)
print("locked", flush=True)
if len(sys.argv) > 3:  # a first job under the lock, in this process: one Python start instead of two
    job, sys.argv = sys.argv[3], sys.argv[3:]
    exec(compile(job, "<under the lock>", "exec"), {"__name__": "__main__"})
    sys.stdout.flush()
sys.stdin.read()
"""


@contextlib.contextmanager
def device_lock(conn: Connection, python: str, root: str, wait: float = WAIT_SECONDS,
                then: tuple[str, list[str]] | None = None) -> Iterator[str | None]:
    """Hold ``<root>/lock`` for the block; RemoteError "another deploy to HOST is in progress" if taken.

    ``then``: a stdlib script and its arguments run by the lock's process once it holds the lock
    (saves a Python start); the block gets the last line it printed (None without ``then``).
    """
    path = root.rstrip("/") + "/lock"
    job = [then[0], *then[1]] if then else []
    channel = conn.start(" ".join(shlex.quote(a) for a in (python, *STDLIB_ONLY, _HOLD, path, f"{wait:g}", *job)))
    try:
        limit = wait + conn.options.command_timeout
        answer = _first_line(conn, channel, limit)
        if answer == "busy":
            raise RemoteError(f"{conn.name}: another deploy to {conn.host.alias} is in progress (it holds {path}); "
                              "wait for it to finish, then run this again")
        if answer != "locked":
            raise RemoteError(f"{conn.name}: cannot take the deploy lock {path}: {answer or 'no answer'}")
        yield (_first_line(conn, channel, limit) or _last_error(channel)) if then else None
    finally:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            channel.shutdown_write()  # EOF on the holder's stdin: it exits, the kernel drops the lock
            channel.close()


def _last_error(channel: paramiko.Channel) -> str:
    """The last stderr line of a job that died under the lock (e.g. ``PermissionError: ...``)."""
    deadline = time.monotonic() + 2.0
    while not channel.exit_status_ready() and time.monotonic() < deadline:
        time.sleep(0.02)
    err = b""
    while channel.recv_stderr_ready():
        err += channel.recv_stderr(1 << 16)
    lines = err.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def _first_line(conn: Connection, channel: paramiko.Channel, limit: float) -> str:
    """The next stdout line of the lock's process (one byte at a time: nothing after it is consumed)."""
    data, deadline = b"", time.monotonic() + limit
    channel.settimeout(0.2)
    while not data.endswith(b"\n") and time.monotonic() < deadline:
        try:
            chunk = channel.recv(1)
        except TimeoutError:
            continue
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise RemoteError(f"{conn.name}: the connection dropped while taking the deploy lock: {exc}") from None
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").strip()
