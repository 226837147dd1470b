"""Putting files on the device so that it never sees a half-copied model.

Device layout (per user, under the remote dir, default ``~/.edgekit``)::

    agent/edgekit_agent-<sha8>.py     the agent, content-addressed
    models/<sha256>.tflite            the models kept on the device, content-addressed
    current -> models/<sha256>.tflite the active model   (symlinks, switched by rename(2))
    previous -> models/<sha256>.tflite
    record.json                       what was activated when, what was refused (edgekit.remote.activation)
    tmp/*.part                        uploads in flight; stray ones are removed on the next deploy
    scratch/                          inputs, outputs and reference models of one deploy's output check
                                      (removed after it; leftovers of a killed deploy by the next one)
    lock                              flock'ed by the deploy in progress (edgekit.remote.lock)

A file is uploaded to ``tmp/`` under a temporary name, its sha256 is checked ON THE
DEVICE, and only then renamed into place; a file already there is checked the same way
before it is used. A corrupted stored copy is never deleted first: its replacement is
uploaded beside it and renamed over it, so a link that points at it never dangles (a
``previous`` link to it is dropped at once: it is no rollback target). Each step is
atomic, so an interrupted deploy leaves the previous model active and intact.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import paramiko

from edgekit import interrupts
from edgekit.errors import AgentError, Interrupted, RemoteError, TransferError, first_line
from edgekit.remote.agent_session import AgentSession
from edgekit.remote.connection import CommandResult, Connection

# How the device's Python runs edgekit's stdlib-only scripts: -S skips site-packages (.pth files,
# sitecustomize), which is most of a bare Python start (measured 0.17 s -> 0.08 s on a loaded host).
STDLIB_ONLY = ("-S", "-c")

# Files up to this size go through the deploy's agent session (no SFTP session: no second login shell
# on the device, measured 0.1-0.5 s here); larger ones over SFTP, whose pipelined writes move bytes about
# twice as fast (bench/deploy_throughput.py, 28 MB: 59 MB/s through the session, 108 MB/s OpenSSH sftp).
SESSION_UPLOAD_MAX = 8 * 1024 * 1024
# A session upload's block: one request (base64 in a JSON line), up to agent_session.WINDOW in flight.
UPLOAD_BLOCK = 256 * 1024
# One SFTP write request per local read, pipelined (no wait for each acknowledgement). 32 KiB is the
# request size paramiko sends anyway; larger reads were measured slower on loopback (paramiko re-slices them).
SFTP_CHUNK = 32 * 1024

# The device-side scripts start with this: the sha256 of a file, read in 1 MiB blocks, an fsync of
# a file or directory (what a rename needs to survive a power cut), and the move of a verified
# temp file into place -- over a corrupted copy too, atomically, so whatever points at ``dst``
# always finds a whole file.
DEVICE_HELPERS = """
import hashlib, json, os, sys
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
def fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
def settle(src, dst, want):
    found = sha256(src)
    if found != want:
        os.unlink(src)
        return "sha256 mismatch: expected %s, the device computed %s" % (want, found)
    os.chmod(src, 0o644)
    fsync(src)
    os.rename(src, dst)
    fsync(os.path.dirname(dst))
    return None
"""

# Run by the device's Python: verify a temp file's sha256, then rename it into place.
_VERIFY_AND_RENAME = DEVICE_HELPERS + """
src, dst, want = sys.argv[1:4]
problem = settle(src, dst, want)
if problem:
    sys.exit(problem)
"""

# Run in the deploy's agent: append one base64 block of an upload to its temp file (created by the
# first block). The blocks of one file follow each other without waiting for their answers.
_APPEND = """
import base64, sys
path, first, data = sys.argv[1:4]
with open(path, "wb" if first == "1" else "ab") as f:
    f.write(base64.b64decode(data))
"""

# Device-side (after DEVICE_HELPERS): create the layout, remove the `.part` files and scratch files
# of an interrupted deploy (the caller holds the deploy lock, so none is in flight), and check the
# stored agent like a stored model (below). Run by the deploy's start (edgekit.remote.device_start).
PREPARE = """
def prepare(root, agent, want):
    for name in ("agent", "models", "tmp", "scratch"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    stray = []
    for folder, name in sorted([("tmp", n) for n in os.listdir(os.path.join(root, "tmp")) if n.endswith(".part")]
                               + [("scratch", n) for n in os.listdir(os.path.join(root, "scratch"))]):
        os.unlink(os.path.join(root, folder, name))
        stray.append(os.path.join(root, folder, name))
    intact = False
    if os.path.isfile(agent):
        intact = sha256(agent) == want
        if not intact:
            os.unlink(agent)
    return {"stray": stray, "agent": intact}
"""

# Run by the device's Python: is a stored file there, and still what its name says? A corrupted
# one is left in place (the replacement is renamed over it); if `previous` points at it, that link
# is dropped (a rollback would refuse it anyway). Prints what it found as JSON (sha256 null: no file).
_CHECK_STORED = DEVICE_HELPERS + """
root, path, want = sys.argv[1:4]
found = sha256(path) if os.path.isfile(path) else None
pointing = [name for name in ("current", "previous") if found and os.path.islink(os.path.join(root, name))
            and os.path.realpath(os.path.join(root, name)) == os.path.realpath(path)]
if found != want and "previous" in pointing:
    os.unlink(os.path.join(root, "previous"))
links = {name: os.readlink(os.path.join(root, name)) if os.path.islink(os.path.join(root, name)) else None
         for name in ("current", "previous")}
print(json.dumps({"sha256": found, "current": "current" in pointing, "previous": "previous" in pointing,
                  "links": links}))
"""

# Run in the deploy's agent after a failed upload: remove its temp file, print the free bytes there.
_DISCARD = """
import os, shutil, sys
if os.path.exists(sys.argv[1]):
    os.unlink(sys.argv[1])
print(shutil.disk_usage(os.path.dirname(sys.argv[1])).free)
"""

# What a failed upload leaves active (unless current points at the corrupted copy being replaced).
_STAYS = "the previous model stays active"


@dataclass(frozen=True)
class Layout:
    """Absolute paths of edgekit's directory on one device."""

    root: str

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def agent(self, sha256: str) -> str:
        return self.path("agent", f"edgekit_agent-{sha256[:8]}.py")

    def model(self, sha256: str) -> str:
        return self.path("models", f"{sha256}.tflite")

    def scratch(self, name: str) -> str:
        return self.path("scratch", name)

    def model_link(self, sha256: str) -> str:
        """What ``current``/``previous`` point at (relative, so the dir can move)."""
        return f"models/{sha256}.tflite"


@dataclass(frozen=True)
class Upload:
    """What one push sent."""

    remote_path: str
    bytes_sent: int        # 0 when the device already had the file
    seconds: float
    replaced: str | None = None   # sha256 of a corrupted stored copy that was replaced
    current: str | None = None    # the ``current`` link, when it already points at this intact file
    previous: str | None = None   # the ``previous`` link then


@dataclass(frozen=True)
class _Stored:
    """What the device found in a stored copy: its sha256 and which links point at it."""

    sha256: str | None   # None: no such file
    current: bool
    previous: bool   # previous pointed at it (the link is dropped if the copy is corrupted)
    links: dict      # where current and previous point now


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_script(conn: Connection, python: str, source: str, args: list[str],
               session: AgentSession | None = None) -> CommandResult:
    """One of the device-side scripts: inside the deploy's agent session when it runs (no Python start,
    no new SSH channel), else as ``python -c``."""
    if session is not None and not session.dead:
        return session.script(source, args, timeout=conn.options.command_timeout)
    return conn.run(" ".join(shlex.quote(a) for a in (python, *STDLIB_ONLY, source, *args)))


def resolve_root(conn: Connection, remote_dir: str) -> Layout:
    """Turn ``~/...`` or a relative dir into an absolute path (SFTP starts in the home dir)."""
    try:
        home = conn.sftp.normalize(".")
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise RemoteError(f"{conn.name}: cannot find the home directory over SFTP: {exc}") from None
    if remote_dir == "~":
        return Layout(home)
    if remote_dir.startswith("~/"):
        return Layout(posixpath.join(home, remote_dir[2:]))
    return Layout(posixpath.normpath(posixpath.join(home, remote_dir)))


def push_file(session: AgentSession, local: Path, sha256: str, remote: str,
              say: Callable[[str], None] | None = None) -> Upload:
    """Upload ``local`` to ``remote`` unless the device already has it intact (sha256 checked there).

    The bytes go to a temporary file through the deploy's agent session in pipelined blocks (a
    large file over SFTP, see SESSION_UPLOAD_MAX); the session checks and renames it. A corrupted stored copy is replaced by
    renaming the verified upload over it (``say`` hears of it before the upload starts); until
    then whatever points at it still finds a file.
    """
    conn = session.conn
    stored = _check_stored(session, remote, sha256)
    if stored.sha256 == sha256:
        return Upload(remote, 0, 0.0, current=stored.links["current"] if stored.current else None,
                      previous=stored.links["previous"] if stored.current else None)
    stays = _STAYS
    if stored.sha256 is not None:
        stays = f"current still points at the device's corrupted copy of {sha256[:12]}" if stored.current else stays
        if say:
            say(f"{conn.name}: the device's copy of {sha256[:12]} is corrupted (sha256 {stored.sha256[:12]}); "
                "uploading it again beside it" + ("; previous pointed at it and was dropped" if stored.previous else ""))
    tmp = posixpath.join(posixpath.dirname(posixpath.dirname(remote)), "tmp",
                         f"{posixpath.basename(remote)}.{secrets.token_hex(4)}.part")
    start = time.monotonic()
    try:
        sent = _upload(session, local, tmp, stays)
    except (TransferError, Interrupted) as err:
        raise _after_failed_upload(session, tmp, local, err, stays) from None
    seconds = time.monotonic() - start
    result = session.script(_VERIFY_AND_RENAME, [tmp, remote, sha256], timeout=conn.options.command_timeout)
    if result.status != 0:
        raise TransferError(f"{conn.name}: {local.name} did not arrive intact "
                            f"({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.status}); "
                            f"{stays}; deploy again")
    return Upload(remote, sent, seconds, stored.sha256)


def _check_stored(session: AgentSession, remote: str, sha256: str) -> _Stored:
    root = posixpath.dirname(posixpath.dirname(remote))
    result = session.script(_CHECK_STORED, [root, remote, sha256], timeout=session.conn.options.command_timeout)
    if result.status != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.status}"
        raise RemoteError(f"{session.conn.name}: checking {remote} failed: {detail}")
    return _Stored(**json.loads(result.stdout.strip().splitlines()[-1]))


def _upload(session: AgentSession, local: Path, remote: str, stays: str) -> int:
    """The bytes to ``remote``: a small file through the session, a large one over SFTP (SESSION_UPLOAD_MAX)."""
    send = _through_session if local.stat().st_size <= SESSION_UPLOAD_MAX else _through_sftp
    return send(session, local, remote, stays)


def _through_session(session: AgentSession, local: Path, remote: str, stays: str) -> int:
    """Pipelined blocks through the session; any failure is a TransferError (the temp file is left for cleanup)."""
    conn, sent = session.conn, 0

    def blocks() -> Iterator[list[str]]:
        nonlocal sent
        with open(local, "rb") as src:
            first = True
            while True:
                block = src.read(UPLOAD_BLOCK)
                if not block and not first:
                    return
                interrupts.check(f"{conn.name}: upload of {local.name}")
                yield [remote, "1" if first else "0", base64.b64encode(block).decode("ascii")]
                first, sent = False, sent + len(block)

    try:
        results = session.scripts(_APPEND, blocks(), timeout=conn.options.command_timeout)
    except (RemoteError, AgentError) as exc:
        raise _cut(conn.name, local, sent, first_line(exc).removeprefix(conn.name + ": "), stays) from None
    failed = next((r for r in results if r.status), None)
    if failed is not None:
        raise _cut(conn.name, local, sent, failed.stderr.strip() or f"exit {failed.status}", stays)
    return sent


def _through_sftp(session: AgentSession, local: Path, remote: str, stays: str) -> int:
    """Pipelined SFTP writes; any failure is a TransferError (the temp file is left for cleanup)."""
    conn, sent = session.conn, 0
    try:
        with open(local, "rb") as src, conn.sftp.open(remote, "wb") as dst:
            dst.set_pipelined(True)
            for block in iter(lambda: src.read(SFTP_CHUNK), b""):
                interrupts.check(f"{conn.name}: upload of {local.name}")
                dst.write(block)
                sent += len(block)
    except (OSError, EOFError, paramiko.SSHException, RemoteError) as exc:
        raise _cut(conn.name, local, sent, first_line(exc) or type(exc).__name__, stays) from None
    return sent


def _cut(name: str, local: Path, sent: int, reason: str, stays: str) -> TransferError:
    return TransferError(f"{name}: upload of {local.name} interrupted after {sent} of {local.stat().st_size} bytes "
                         f"({reason}); {stays}; deploy again")


def _after_failed_upload(session: AgentSession, tmp: str, local: Path, err: Exception, stays: str) -> Exception:
    """Remove the partial upload (best effort) and say why it failed: a full disk by name."""
    try:
        result = session.script(_DISCARD, [tmp], timeout=session.conn.options.command_timeout, interruptible=False)
        free = int(result.stdout.strip()) if result.status == 0 else None
    except (RemoteError, AgentError, ValueError):
        return err  # the connection or the agent is gone: the next deploy removes the stray .part
    name = session.conn.name
    if isinstance(err, Interrupted):
        return Interrupted(f"{name}: interrupted during the upload of {local.name}; the partial upload was "
                           f"removed and {stays}")
    if free is not None and free < local.stat().st_size:
        return TransferError(f"{name}: the device's disk is full ({free / 1e6:.1f} MB free in "
                             f"{posixpath.dirname(posixpath.dirname(tmp))}, {local.name} needs "
                             f"{local.stat().st_size / 1e6:.1f} MB); the partial upload was removed and {stays}; "
                             "free some space or pass --remote-dir on a larger filesystem")
    return err
