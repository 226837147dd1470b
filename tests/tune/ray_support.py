"""A real Ray cluster on 127.0.0.1 for tests and benches: a head and worker nodes, ended by our own pids.

Ray is made to stay on loopback and to stay ours, explicitly:
- ``ray start`` swaps ``--node-ip-address=127.0.0.1`` for the machine's address, and then its
  servers listen on every interface; so the nodes are started with ``ray.cluster_utils.Cluster``
  and an explicit ``node_ip_address="127.0.0.1"`` (its servers then bind 127.0.0.1 only), in a
  launcher process of their own session;
- ``ray.init("127.0.0.1:PORT")`` would swap the address the same way; with
  ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (:func:`cluster_env`, read when ``ray`` is imported) it
  keeps it;
- a private short RAY_TMPDIR (Unix socket paths are limited to 107 characters), token
  authentication with a token file of its own, no dashboard, no usage stats;
- stopping asks the launcher to shut its cluster down and then kills whatever is left of the
  launcher's session -- never ``ray stop``, which would hit other people's clusters.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent          # ray_jobs.py lives here, importable by the workers


def free_port() -> int:
    """A TCP port nothing listens on right now (for "nobody is there" tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(tmp: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the nodes and of every driver of the cluster in ``tmp``."""
    env = dict(os.environ if base is None else base)
    env.update({
        "RAY_TMPDIR": str(tmp),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(tmp / "auth_token"),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), str(HELPERS), env.get("PYTHONPATH")])),
    })
    env.pop("RAY_AUTH_TOKEN", None)
    env.pop("RAY_ADDRESS", None)
    return env


class LocalRayCluster:
    """``with LocalRayCluster(cpus=(1, 1)) as c: ... c.address`` -- a head plus one node per further entry."""

    def __init__(self, cpus: tuple[int, ...] = (1, 1), *, start_timeout: float = 120):
        self.cpus = cpus
        self.start_timeout = start_timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="ekray", dir="/tmp"))
        (self.tmp / "ray").mkdir()
        token = self.tmp / "auth_token"
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
        self.env = cluster_env(self.tmp)
        self.address = ""
        self.proc: subprocess.Popen | None = None

    def start(self) -> "LocalRayCluster":
        self.proc = subprocess.Popen(
            [sys.executable, __file__, json.dumps(list(self.cpus)), str(self.tmp)], env=self.env,
            stdout=subprocess.PIPE, stderr=open(self.tmp / "launcher.log", "wb"), stdin=subprocess.DEVNULL,
            text=True, start_new_session=True)
        line = self.proc.stdout.readline()          # the launcher prints the address once every node is up
        if not line.startswith("127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the local ray cluster did not start: {line!r} {self.log_tail()}")
        self.address = line.strip()
        return self

    def pids(self) -> list[int]:
        """Every live process of this cluster: the members of the launcher's session."""
        return _session_members(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for pid in _session_members(self.proc.pid):
            os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self) -> str:
        return (self.tmp / "launcher.log").read_text(errors="replace")[-800:]

    def __enter__(self) -> "LocalRayCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _session_members(sid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    out.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return out


def _serve(cpus: list[int], tmp: str) -> None:
    """The launcher: start the nodes, print the address, shut them down on SIGTERM."""
    from ray.cluster_utils import Cluster

    node = {"node_ip_address": "127.0.0.1", "object_store_memory": 100 * 1024 * 1024}
    cluster = Cluster(initialize_head=True, shutdown_at_exit=True, head_node_args={
        **node, "num_cpus": cpus[0], "include_dashboard": False, "temp_dir": tmp})
    for n in cpus[1:]:
        cluster.add_node(**node, num_cpus=n)
    cluster.wait_for_nodes()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print(cluster.address, flush=True)
    while not stop:
        time.sleep(0.2)
    cluster.shutdown()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]), sys.argv[2])
