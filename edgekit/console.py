"""Human-readable lines on stderr, shared by the CLI's messages and the library's progress.

stdout carries only results (``--json``); everything a person reads goes here. It lives
below both ``edgekit.cli`` and the library so that library code (e.g. the build's stage
log) can print by default without importing the CLI.
"""

from __future__ import annotations

import sys


def info(message: str) -> None:
    """A human-readable progress or log line, always on stderr (looked up per call, so captures work)."""
    print(message, file=sys.stderr, flush=True)
