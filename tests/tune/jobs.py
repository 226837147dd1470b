"""Job functions the executor tests run in real worker processes (importable by name in a spawned child)."""

from __future__ import annotations

import os
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


def hold_bench_lock(payload: dict) -> dict:
    """Holds the device's bench lock for payload['seconds'] and returns when it held it."""
    from edgekit.tune.benchlock import bench_lock

    with bench_lock(Path(payload["locks"]), payload["device"]):
        start = time.time()
        time.sleep(payload["seconds"])
        return {"start": start, "end": time.time()}
