"""Job functions the executor tests run in real worker processes (importable by name in a spawned child)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def echo(payload: dict) -> dict:
    """Returns what the worker saw: its pid, its thread variables, the payload."""
    return {"pid": os.getpid(), "payload": payload,
            "threads": {name: os.environ.get(name) for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}}


def fail(payload: dict) -> dict:
    raise ValueError(f"bad recipe {payload['name']}")


def sleep(payload: dict) -> dict:
    """Writes its pid to payload['pidfile'], then sleeps payload['seconds']."""
    Path(payload["pidfile"]).write_text(str(os.getpid()))
    time.sleep(payload["seconds"])
    return {"slept": payload["seconds"]}


def sleep_with_a_child(payload: dict) -> dict:
    """Starts a child process (as a trial's benchmark does), writes ``"WORKER CHILD"`` pids to
    ``payload["pidfile"]``, then sleeps for an hour."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    Path(payload["pidfile"]).write_text(f"{os.getpid()} {child.pid}\n")
    time.sleep(3600)
    return {}


def hold_bench_lock(payload: dict) -> dict:
    """Holds the device's bench lock for payload['seconds'] and returns when it held it."""
    from edgekit.tune.benchlock import bench_lock

    with bench_lock(Path(payload["locks"]), payload["device"]):
        start = time.time()
        time.sleep(payload["seconds"])
        return {"start": start, "end": time.time()}
