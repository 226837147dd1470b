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
sys.stdin.read()
"""


@contextlib.contextmanager
def device_lock(conn: Connection, python: str, root: str, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold ``<root>/lock`` for the block; RemoteError "another deploy to HOST is in progress" if taken."""
    path = root.rstrip("/") + "/lock"
    channel = conn.start(" ".join(shlex.quote(a) for a in (python, "-c", _HOLD, path, f"{wait:g}")))
    try:
        answer = _first_line(conn, channel, wait + conn.options.command_timeout)
        if answer == "busy":
            raise RemoteError(f"{conn.name}: another deploy to {conn.host.alias} is in progress (it holds {path}); "
                              "wait for it to finish, then run this again")
        if answer != "locked":
            raise RemoteError(f"{conn.name}: cannot take the deploy lock {path}: {answer or 'no answer'}")
        yield
    finally:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            channel.shutdown_write()  # EOF on the holder's stdin: it exits, the kernel drops the lock
            channel.close()


def _first_line(conn: Connection, channel: paramiko.Channel, limit: float) -> str:
    data, deadline = b"", time.monotonic() + limit
    channel.settimeout(0.2)
    while b"\n" not in data and time.monotonic() < deadline:
        try:
            chunk = channel.recv(256)
        except TimeoutError:
            continue
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise RemoteError(f"{conn.name}: the connection dropped while taking the deploy lock: {exc}") from None
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace").split("\n", 1)[0].strip()
