"""Switching ``current``/``previous`` on the device, and which models it keeps, by its own record.

The switch runs on the device, under the deploy lock, in one script: it recomputes the
sha256 of the file a link is about to point at and refuses a mismatch (a corrupted
``previous`` is never rolled back to), then renames a new symlink over the old one.

``record.json`` in the remote dir is the device's own account of its models: the order
and time of each activation, and the files the load check refused. Retention ranks by it,
not by file times: refused files go at once, models never activated go next, then the
least recently activated; ``current`` and ``previous`` are never candidates. The record is
written to ``tmp/`` then fsync'ed and renamed over the old one, so an interruption leaves
the old record or the new one. A device deployed before the record existed starts one from
its files' modification times.
"""

from __future__ import annotations

import json

from edgekit.errors import RemoteError, TransferError
from edgekit.remote.connection import Connection
from edgekit.remote.agent_session import AgentSession
from edgekit.remote.push import DEVICE_HELPERS, Layout, run_script

# Run by the device's Python: ``activate LINK KEEP``, ``rollback`` or ``refuse SHA256 REASON``.
# Prints the links afterwards and the model files removed, as JSON.
_SWITCH = DEVICE_HELPERS + """
import time
root, action = sys.argv[1:3]
models = os.path.join(root, "models")
record_path = os.path.join(root, "record.json")

def link(name):
    path = os.path.join(root, name)
    return os.readlink(path) if os.path.islink(path) else None

def sha_of(target):
    return os.path.basename(target)[:-len(".tflite")] if target else None

def point(name, target):
    tmp = os.path.join(root, "tmp", name + ".link")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.rename(tmp, os.path.join(root, name))
    fsync(root)

def stored():
    return sorted(n[:-len(".tflite")] for n in os.listdir(models) if n.endswith(".tflite"))

def load_record():
    try:
        with open(record_path) as f:
            record = json.load(f)
        if isinstance(record, dict) and isinstance(record.get("models"), dict):
            return record
    except (OSError, ValueError):
        pass
    by_time = sorted(stored(), key=lambda s: os.stat(os.path.join(models, s + ".tflite")).st_mtime)
    return {"serial": len(by_time), "models": {s: {"order": i + 1, "activated_at": None}
                                               for i, s in enumerate(by_time)}}

def save_record():
    tmp = os.path.join(root, "tmp", "record.json.new")
    with open(tmp, "w") as f:
        json.dump(record, f, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, record_path)
    fsync(root)

def activated(target):
    record["serial"] = record.get("serial", 0) + 1
    record["models"][sha_of(target)] = {"order": record["serial"], "activated_at": round(time.time(), 3)}
    save_record()

def verify(target, what):
    path = os.path.join(root, target)
    if not os.path.isfile(path):
        refuse_switch("%s %s is missing" % (what, target))
    found = sha256(path)
    if found != sha_of(target):
        refuse_switch("%s %s is corrupted (the device computed sha256 %s)" % (what, target, found[:12]))

def refuse_switch(reason):
    sys.exit("%s; nothing was switched, current stays %s" % (reason, current or "unset"))

def retain(keep):
    pinned = {sha_of(link(n)) for n in ("current", "previous")} - {None}
    entries = record["models"]
    names = [s for s in stored() if s not in pinned]
    doomed = [s for s in names if entries.get(s, {}).get("refused")]
    ranked = sorted((s for s in names if s not in doomed), key=lambda s: entries.get(s, {}).get("order", 0),
                    reverse=True)
    if keep is not None:
        doomed += ranked[max(keep - len(pinned), 0):]
    for sha in doomed:
        os.unlink(os.path.join(models, sha + ".tflite"))
    present = set(stored())
    record["models"] = {s: e for s, e in entries.items() if s in present}
    save_record()
    return [s + ".tflite" for s in doomed]

record = load_record()
current, previous = link("current"), link("previous")
removed = []
if action == "activate":
    new, keep = sys.argv[3], int(sys.argv[4])
    verify(new, "the model")
    activated(new)
    if current != new:
        if current:
            point("previous", current)
        point("current", new)
    removed = retain(keep)
elif action == "rollback":
    if not previous:
        refuse_switch("no previous model to roll back to")
    verify(previous, "the previous model")
    activated(previous)
    point("current", previous)
    if current:
        point("previous", current)
elif action == "refuse":
    sha, reason = sys.argv[3:5]
    record["models"][sha] = dict(record["models"].get(sha, {}), refused=reason)
    save_record()
    removed = retain(None)
print(json.dumps({"current": link("current"), "previous": link("previous"), "removed": removed}))
"""


def activate(conn: Connection, python: str, layout: Layout, sha256: str, keep: int,
             session: AgentSession | None = None) -> dict:
    """Point ``current`` at the model (the old one becomes ``previous``), then keep ``keep`` models.

    The device verifies the file's sha256 first; TransferError if it does not match.
    Returns {"current": ..., "previous": ..., "removed": [model file names deleted]}.
    ``session``: the switch runs in the deploy's agent (:func:`edgekit.remote.push.run_script`).
    """
    return _run(conn, python, layout, ["activate", layout.model_link(sha256), str(keep)], TransferError, session)


def rollback(conn: Connection, python: str, layout: Layout) -> dict:
    """Swap ``current`` and ``previous``, after the device verified the previous model's sha256."""
    return _run(conn, python, layout, ["rollback"], RemoteError)


def refuse(conn: Connection, python: str, layout: Layout, sha256: str, reason: str,
           session: AgentSession | None = None) -> list[str]:
    """Record that the check refused the model and remove its file unless a link points at it."""
    return _run(conn, python, layout, ["refuse", sha256, reason], RemoteError, session)["removed"]


def _run(conn: Connection, python: str, layout: Layout, args: list[str], error: type[RemoteError],
         session: AgentSession | None = None) -> dict:
    result = run_script(conn, python, _SWITCH, [layout.root, *args], session)
    if result.status != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.status}"
        raise error(f"{conn.name}: {args[0]} in {layout.root} failed: {detail}")
    return json.loads(result.stdout.strip().splitlines()[-1])
