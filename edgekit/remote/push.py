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

import hashlib
import json
import posixpath
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import paramiko

from edgekit import interrupts
from edgekit.errors import Interrupted, RemoteError, TransferError
from edgekit.remote.agent_session import AgentSession
from edgekit.remote.connection import CommandResult, Connection

# How the device's Python runs edgekit's stdlib-only scripts: -S skips site-packages (.pth files,
# sitecustomize), which is most of a bare Python start (measured 0.17 s -> 0.08 s on a loaded host).
STDLIB_ONLY = ("-S", "-c")

# One SFTP write request per local read, pipelined (no wait for each acknowledgement).
# 32 KiB is the request size paramiko sends anyway; larger reads were measured slower
# on loopback (paramiko re-slices them), see bench/deploy_throughput.py.
UPLOAD_CHUNK = 32 * 1024

# The device-side scripts start with this: the sha256 of a file, read in 1 MiB blocks, and an
# fsync of a file or directory (what a rename needs to survive a power cut).
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
"""

# Run by the device's Python: verify a temp file's sha256, then rename it into place -- over a
# corrupted copy too, atomically, so whatever points at ``dst`` always finds a whole file.
_VERIFY_AND_RENAME = DEVICE_HELPERS + """
src, dst, want = sys.argv[1:4]
found = sha256(src)
if found != want:
    os.unlink(src)
    sys.exit("sha256 mismatch: expected %s, the device computed %s" % (want, found))
os.chmod(src, 0o644)
fsync(src)
os.rename(src, dst)
fsync(os.path.dirname(dst))
"""

# Run by the device's Python: create the layout, remove the `.part` files and scratch files of
# an interrupted deploy (the caller holds the deploy lock, so none is in flight), and check the
# stored agent like a stored model (below). One round trip for the three.
_PREPARE = DEVICE_HELPERS + """
root, agent, want = sys.argv[1:4]
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
print(json.dumps({"stray": stray, "agent": intact}))
"""

# Run by the device's Python: is a stored file still what its name says? A corrupted one is
# left in place (the replacement is renamed over it); if `previous` points at it, that link is
# dropped (a rollback would refuse it anyway). Prints what it found as JSON.
_CHECK_STORED = DEVICE_HELPERS + """
root, path, want = sys.argv[1:4]
found = sha256(path)
pointing = [name for name in ("current", "previous") if os.path.islink(os.path.join(root, name))
            and os.path.realpath(os.path.join(root, name)) == os.path.realpath(path)]
if found != want and "previous" in pointing:
    os.unlink(os.path.join(root, "previous"))
links = {name: os.readlink(os.path.join(root, name)) if os.path.islink(os.path.join(root, name)) else None
         for name in ("current", "previous")}
print(json.dumps({"sha256": found, "current": "current" in pointing, "previous": "previous" in pointing,
                  "links": links}))
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

    sha256: str
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


def prepare_job(layout: Layout, agent_sha256: str) -> tuple[str, list[str]]:
    """The device-side script (and its arguments) that creates the layout, removes stray uploads of an
    interrupted deploy and checks the stored agent; run under the deploy lock
    (:func:`edgekit.remote.lock.device_lock`'s ``then``), read with :func:`prepared`."""
    return _PREPARE, [layout.root, layout.agent(agent_sha256), agent_sha256]


def prepared(conn: Connection, layout: Layout, line: str | None) -> tuple[list[str], bool]:
    """(the stray files removed, whether the agent is already there intact) from the prepare job's line."""
    try:
        answer = json.loads(line or "")
        return answer["stray"], answer["agent"]
    except (ValueError, KeyError, TypeError):
        raise RemoteError(f"{conn.name}: preparing {layout.root} failed: {line or 'no answer'}") from None


def push_file(conn: Connection, python: str, local: Path, sha256: str, remote: str,
              progress: Callable[[int, int], None] | None = None,
              say: Callable[[str], None] | None = None, session: AgentSession | None = None) -> Upload:
    """Upload ``local`` to ``remote`` unless the device already has it intact (sha256 checked there).

    A corrupted stored copy is replaced by renaming the verified upload over it (``say`` hears
    of it before the upload starts); until then whatever points at it still finds a file.
    ``session``: the device-side checks run in the deploy's agent (:func:`run_script`).
    """
    stored = _check_stored(conn, python, remote, sha256, session) if _exists(conn, remote) else None
    if stored is not None and stored.sha256 == sha256:
        return Upload(remote, 0, 0.0, current=stored.links["current"] if stored.current else None,
                      previous=stored.links["previous"] if stored.current else None)
    stays = _STAYS
    if stored is not None:
        stays = f"current still points at the device's corrupted copy of {sha256[:12]}" if stored.current else stays
        if say:
            say(f"{conn.name}: the device's copy of {sha256[:12]} is corrupted (sha256 {stored.sha256[:12]}); "
                "uploading it again beside it" + ("; previous pointed at it and was dropped" if stored.previous else ""))
    tmp = posixpath.join(posixpath.dirname(posixpath.dirname(remote)), "tmp",
                         f"{posixpath.basename(remote)}.{secrets.token_hex(4)}.part")
    start = time.monotonic()
    try:
        sent = _upload(conn, local, tmp, progress, stays)
    except (TransferError, Interrupted) as err:
        raise _after_failed_upload(conn, python, tmp, local, err, stays) from None
    seconds = time.monotonic() - start
    result = run_script(conn, python, _VERIFY_AND_RENAME, [tmp, remote, sha256], session)
    if result.status != 0:
        raise TransferError(f"{conn.name}: {local.name} did not arrive intact "
                            f"({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.status}); "
                            f"{stays}; deploy again")
    return Upload(remote, sent, seconds, stored.sha256 if stored else None)


def _check_stored(conn: Connection, python: str, remote: str, sha256: str, session: AgentSession | None) -> _Stored:
    root = posixpath.dirname(posixpath.dirname(remote))
    result = run_script(conn, python, _CHECK_STORED, [root, remote, sha256], session)
    if result.status != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.status}"
        raise RemoteError(f"{conn.name}: checking {remote} failed: {detail}")
    return _Stored(**json.loads(result.stdout.strip().splitlines()[-1]))


def _after_failed_upload(conn: Connection, python: str, tmp: str, local: Path, err: Exception,
                         stays: str) -> Exception:
    """Remove the partial upload (best effort) and say why it failed: a full disk by name."""
    try:
        conn.sftp.remove(tmp)
    except (OSError, EOFError, paramiko.SSHException, RemoteError):
        return err  # the connection is gone: the next deploy removes the stray .part
    if isinstance(err, Interrupted):
        return Interrupted(f"{conn.name}: interrupted during the upload of {local.name}; the partial upload was "
                           f"removed and {stays}")
    free = _free_bytes(conn, python, posixpath.dirname(tmp))
    if free is not None and free < local.stat().st_size:
        return TransferError(f"{conn.name}: the device's disk is full ({free / 1e6:.1f} MB free in "
                             f"{posixpath.dirname(posixpath.dirname(tmp))}, {local.name} needs "
                             f"{local.stat().st_size / 1e6:.1f} MB); the partial upload was removed and {stays}; "
                             "free some space or pass --remote-dir on a larger filesystem")
    return err


def _free_bytes(conn: Connection, python: str, directory: str) -> int | None:
    script = "import shutil, sys; print(shutil.disk_usage(sys.argv[1]).free)"
    try:
        return int(conn.check(" ".join(shlex.quote(a) for a in (python, *STDLIB_ONLY, script, directory)),
                              what="measuring free disk").strip())
    except (RemoteError, ValueError):
        return None


def _exists(conn: Connection, remote: str) -> bool:
    try:
        conn.sftp.stat(remote)
        return True
    except FileNotFoundError:
        return False
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise RemoteError(f"{conn.name}: cannot stat {remote}: {exc}") from None


def _upload(conn: Connection, local: Path, remote: str, progress: Callable[[int, int], None] | None,
            stays: str) -> int:
    """Pipelined SFTP upload; any failure is a TransferError (the temp file is left for cleanup)."""
    total, sent = local.stat().st_size, 0
    try:
        with open(local, "rb") as src, conn.sftp.open(remote, "wb") as dst:
            dst.set_pipelined(True)
            for block in iter(lambda: src.read(UPLOAD_CHUNK), b""):
                interrupts.check(f"{conn.name}: upload of {local.name}")
                dst.write(block)
                sent += len(block)
                if progress:
                    progress(sent, total)
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise TransferError(f"{conn.name}: upload of {local.name} interrupted after {sent} of {total} bytes "
                            f"({str(exc) or type(exc).__name__}); {stays}; deploy again") from None
    return sent
