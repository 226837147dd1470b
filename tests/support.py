"""Helpers for tests of every tier (import as ``from support import ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_edgekit(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m edgekit ARGS...`` as a real subprocess (exit codes, stdout/stderr split)."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, **kwargs,
    )
