"""A deploy's start on the device in one process: pre-flight, lock, prepare, agent, then the agent itself.

Each SSH command costs the device a login shell (with its rc files) and each Python start
costs another interpreter, so the deploy starts exactly one: a stdlib-only script (``-S``)
that checks the Python version and the arch (before anything is written), resolves the
remote dir, takes the deploy lock, prepares the layout (:data:`edgekit.remote.push.PREPARE`)
and answers with one JSON line. If the stored agent is missing or corrupted, edgekit sends it
on the same channel and the script installs it like a model (sha256 checked, renamed into
place). Then the script ``exec``s the agent's ``session`` in the same process, keeping the
lock's file descriptor: the agent holds the deploy lock until it ends, and its death (or the
connection's) releases it.
"""

from __future__ import annotations

import base64
import json
import posixpath
import time
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import RemoteError
from edgekit.remote import preflight
from edgekit.remote.agent_session import AgentSession
from edgekit.remote.connection import Connection
from edgekit.remote.lock import TAKE_LOCK, WAIT_SECONDS, lock_path, refused
from edgekit.remote.push import DEVICE_HELPERS, PREPARE, STDLIB_ONLY, Layout, Upload
from edgekit.targets import Target

# Exit codes of the start script before it takes the lock (the lock's own refusal exits 75).
OLD_PYTHON, WRONG_ARCH = 76, 77

_START = """
import sys
if sys.version_info < (3, 7):
    sys.stdout.write('{"python": "%d.%d"}\\n' % tuple(sys.version_info[:2]))
    sys.exit(76)
""" + DEVICE_HELPERS + TAKE_LOCK + PREPARE + """
import base64
python, spec, want_arch, agent_name, agent_sha, wait = sys.argv[1:7]
arch = os.uname()[4]
if arch != want_arch:
    print(json.dumps({"arch": arch}), flush=True)
    sys.exit(77)
root = os.path.abspath(os.path.expanduser(spec))  # sshd starts us in the home dir
lock = take_lock(os.path.join(root, "lock"), float(wait))
agent = os.path.join(root, "agent", agent_name)
answer = prepare(root, agent, agent_sha)
answer.update(root=root, arch=arch)
print(json.dumps(answer), flush=True)
if not answer["agent"]:  # edgekit sends it now (and nothing else until we answer)
    tmp = os.path.join(root, "tmp", "%s.%d.part" % (agent_name, os.getpid()))
    with open(tmp, "wb") as f:
        f.write(base64.b64decode(json.loads(sys.stdin.buffer.readline().decode("utf-8"))["agent"]))
    problem = settle(tmp, agent, agent_sha)
    print(json.dumps({"installed": problem is None, "error": problem}), flush=True)
    if problem:
        sys.exit(1)
os.set_inheritable(lock.fileno(), True)  # the agent keeps holding the deploy lock
sys.stdout.flush()
os.execvp(python, [python, agent, "session"])
"""


@dataclass
class Started:
    """The deploy's agent session (holding the lock) and what the start found."""

    session: AgentSession
    layout: Layout
    arch: str
    stray: list[str]      # partial uploads and scratch files of an interrupted deploy, removed
    agent: Upload         # the agent's upload (0 bytes when the device had it intact)


def start(conn: Connection, python: str, remote_dir: str, target: Target, agent: Path, agent_sha: str,
          wait: float = WAIT_SECONDS) -> Started:
    """Start the deploy's one device process; PreflightError/RemoteError naming the device if it cannot."""
    name = posixpath.basename(Layout("/").agent(agent_sha))
    session = AgentSession(conn, [python, *STDLIB_ONLY, _START, python, remote_dir, target.expected_arch(),
                                  name, agent_sha, f"{wait:g}"])
    try:
        answer = _answer(session, python, remote_dir, target, wait + conn.options.command_timeout, "root")
        layout = Layout(answer["root"])
        upload = Upload(layout.agent(agent_sha), 0, 0.0)
        if not answer["agent"]:
            began, data = time.monotonic(), agent.read_bytes()
            session.send({"agent": base64.b64encode(data).decode("ascii")})
            installed = _answer(session, python, remote_dir, target, conn.options.command_timeout, "installed")
            if not installed["installed"]:
                raise RemoteError(f"{conn.name}: installing the agent in {layout.root} failed: "
                                  f"{installed.get('error')}; deploy again")
            upload = Upload(layout.agent(agent_sha), len(data), time.monotonic() - began)
        return Started(session, layout, answer["arch"], answer["stray"], upload)
    except BaseException:
        session.close()  # EOF: whatever step the device is at, it ends (and releases the lock)
        raise


def _answer(session: AgentSession, python: str, remote_dir: str, target: Target, timeout: float,
            key: str) -> dict:
    """The start script's next JSON line (the one holding ``key``); why it stopped as an error naming the device."""
    conn = session.conn
    line, status, stderr = session.receive(timeout=timeout, flag="--command-timeout",
                                           too_slow="is the device overloaded?")
    answer = _json(line)
    if key in answer:
        return answer
    if line == "busy" or line.startswith("error "):
        raise refused(conn, line, lock_path(remote_dir))
    if session.dead and status == 127 and not line:
        raise preflight.python_missing(conn.name, python)
    if "python" in answer:
        raise preflight.python_too_old(conn.name, python, answer["python"])
    if "arch" in answer:
        raise preflight.wrong_arch(conn.name, answer["arch"], target)
    tail = stderr.strip().splitlines()[-1] if stderr.strip() else line or f"exit {status}"
    raise RemoteError(f"{conn.name}: starting the deploy on the device with {python} failed: {tail}")


def _json(line: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
