"""One deploy (or rollback) per device at a time: an flock(2) held by a process on the device.

A deploy's own process on the device (:mod:`edgekit.remote.device_start`, which becomes its
agent) takes ``flock`` on ``<remote dir>/lock`` and holds it until it ends; a rollback, or a
step run after that process died, uses a tiny Python process that takes the lock and then
reads its stdin until edgekit closes the channel. The kernel drops the lock when the holder
ends, and it ends when the SSH session does -- also when edgekit is killed with SIGKILL or the
network drops -- so a lock is never left behind. A second deploy waits a few seconds for it,
then fails naming the device.
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

# Device-side (needs os and sys imported): take the lock or print why not ("busy", "error ...") and exit.
TAKE_LOCK = """
import errno, fcntl, time
def take_lock(path, wait):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = open(path, "a")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                print("busy" if exc.errno in (errno.EAGAIN, errno.EACCES) else "error %s" % exc, flush=True)
                sys.exit(75)
            time.sleep(0.1)
"""

_HOLD = "import os, sys\n" + TAKE_LOCK + """
lock = take_lock(sys.argv[1], float(sys.argv[2]))
print("locked", flush=True)
sys.stdin.read()
"""


def lock_path(root: str) -> str:
    return root.rstrip("/") + "/lock"


def refused(conn: Connection, answer: str, path: str) -> RemoteError:
    """The error for a holder's first line other than "locked": the device is busy, or the lock failed."""
    if answer == "busy":
        return RemoteError(f"{conn.name}: another deploy to {conn.host.alias} is in progress (it holds {path}); "
                           "wait for it to finish, then run this again")
    return RemoteError(f"{conn.name}: cannot take the deploy lock {path}: {answer or 'no answer'}")


@contextlib.contextmanager
def device_lock(conn: Connection, python: str, root: str, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold ``<root>/lock`` for the block; RemoteError "another deploy to HOST is in progress" if taken."""
    path = lock_path(root)
    channel = conn.start(" ".join(shlex.quote(a) for a in (python, *STDLIB_ONLY, _HOLD, path, f"{wait:g}")))
    try:
        answer = _first_line(conn, channel, wait + conn.options.command_timeout)
        if answer != "locked":
            raise refused(conn, answer, path)
        yield
    finally:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            channel.shutdown_write()  # EOF on the holder's stdin: it exits, the kernel drops the lock
            channel.close()


def _first_line(conn: Connection, channel: paramiko.Channel, limit: float) -> str:
    """The first stdout line of the lock's process."""
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
