"""Small real job functions for the Ray executor tests; the workers import them (the cluster's PYTHONPATH)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def square(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's number squared, with the worker's pid and its TensorFlow thread settings."""
    return {"square": payload["x"] ** 2, "pid": os.getpid(),
            "threads": os.environ.get("TF_NUM_INTRAOP_THREADS")}


def fail(payload: dict[str, Any]) -> dict[str, Any]:
    raise ValueError(f"trial {payload['x']} has no square\nsecond line that must not reach the outcome")


def sleep_forever(payload: dict[str, Any]) -> dict[str, Any]:
    """Writes its pid to ``payload["pidfile"]`` (so a test can kill this very worker), then sleeps."""
    Path(payload["pidfile"]).write_text(f"{os.getpid()}\n")
    time.sleep(3600)
    return {}


def read_file(payload: dict[str, Any]) -> dict[str, Any]:
    return {"text": Path(payload["path"]).read_text()}


def import_keras(payload: dict[str, Any]) -> dict[str, Any]:
    """Seconds this worker spends importing Keras/TensorFlow (0 when an earlier job of the worker did)."""
    import resource
    import sys

    started = time.perf_counter()
    fresh = "keras" not in sys.modules
    import keras  # noqa: F401

    return {"seconds": time.perf_counter() - started, "fresh": fresh, "pid": os.getpid(),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
