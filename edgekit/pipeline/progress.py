"""One line per build stage on stderr: what ran, how long it took, or that it was cached."""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

from edgekit.console import info


class StageLog:
    """Times stages and prints ``[build] <stage> <detail>  <seconds>s | cached`` lines.

    ``emit`` receives every line (default: stderr); a caller that prints differently, or a
    test, injects its own.
    """

    def __init__(self, emit: Callable[[str], None] = info):
        self.emit = emit
        self.stages: dict[str, dict] = {}

    @contextlib.contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[dict]:
        """Run a stage; the body sets ``state["cached"] = True`` on a cache hit."""
        state = {"cached": False}
        label = f"{name} {detail}".strip()
        self.emit(f"[build] {label} ...")
        start = time.perf_counter()
        try:
            yield state
        except BaseException:
            self.emit(f"[build] {label} failed after {time.perf_counter() - start:.1f}s")
            raise
        seconds = time.perf_counter() - start
        self.stages[label] = {"seconds": round(seconds, 3), "cached": state["cached"]}
        self.emit(f"[build] {label} {'cached' if state['cached'] else 'done'} ({seconds:.1f}s)")

    def note(self, message: str) -> None:
        self.emit(f"[build] {message}")
