"""The one writer of a fleet's lines: whole lines, never two devices' text run together.

Workers report progress from their threads; results are reported from the calling
thread. Both go through one lock here, and each message is handed to the print
function as one piece, so a line is never split by another. On a terminal a live count
(``12/60 done, 1 failed``) sits on the last line of stderr and is redrawn after each line.
"""

from __future__ import annotations

import threading
from typing import Callable

# write(text, err): text is written as given (it ends with "\n" unless it is the live count).
Write = Callable[[str, bool], None]
_CLEAR = "\r\x1b[K"


class FleetLog:
    """Serialises the lines of a fleet run; ``verbose`` shows every device's progress lines."""

    def __init__(self, write: Write, *, total: int, verbose: bool = True, live: bool = False, what: str = "done"):
        self._write, self.total, self.verbose, self.live, self._what = write, total, verbose, live, what
        self._lock = threading.Lock()
        self._finished = self._failed = 0
        self._status_shown = False

    def progress(self, message: str) -> None:
        """A step of one device (shown with ``verbose``); safe from any thread."""
        if self.verbose:
            self.line(message, err=True)

    def line(self, message: str, *, err: bool = False) -> None:
        """A line that is always shown (a device's result or error, a note); safe from any thread."""
        with self._lock:
            self._emit(message.rstrip("\n") + "\n", err)

    def finished(self, ok: bool) -> None:
        """Count a device that ended; redraws the live count."""
        with self._lock:
            self._finished += 1
            self._failed += not ok
            if self.live:
                self._emit("", True)

    def close(self) -> None:
        """Remove the live count (before the summary)."""
        with self._lock:
            if self._status_shown:
                self._write(_CLEAR, True)
                self._status_shown = False

    def _emit(self, text: str, err: bool) -> None:
        if self._status_shown:
            self._write(_CLEAR, True)
        if text:
            self._write(text, err)
        self._status_shown = self.live
        if self.live:
            self._write(f"{self._finished}/{self.total} {self._what}, {self._failed} failed", True)
