"""Ctrl-C and SIGTERM as a request to stop at the next safe point, not wherever Python happens to be.

A deploy must not be cut between "uploaded" and "activated" by a KeyboardInterrupt raised
in the middle of a paramiko call: inside :func:`deferred` the first SIGINT/SIGTERM only
sets a flag, and the code polls it where stopping is safe (:func:`requested`,
:func:`check`): an upload abandons its temp file, a fleet starts no further device.
A second signal is not deferred (KeyboardInterrupt: the user insists). Stdlib only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Iterator

from edgekit.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)
REDELIVER_S = 0.05  # a signal that arrived inside an import callback is sent again after this

_stop = threading.Event()
_lock = threading.Lock()
_depth = 0


def requested() -> bool:
    """True once SIGINT/SIGTERM arrived inside :func:`deferred`."""
    return _stop.is_set()


def check(where: str) -> None:
    """Raise :class:`Interrupted` naming ``where`` if a stop was requested."""
    if _stop.is_set():
        raise Interrupted(f"{where}: interrupted")


def request() -> None:
    """Ask every safe point to stop (what the signal handler does; also usable by a caller)."""
    _stop.set()


def _on_signal(signum, frame) -> None:
    if _stop.is_set():
        raise KeyboardInterrupt
    _stop.set()
    sys.stderr.write(f"edgekit: {signal.Signals(signum).name} received, stopping at the next safe point "
                     "(again to stop at once)\n")
    sys.stderr.flush()


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within this block (re-entrant; effective in the main thread only) signals set the stop flag."""
    global _depth
    in_main = threading.current_thread() is threading.main_thread()
    with _lock:
        outermost = in_main and _depth == 0
        if in_main:
            _depth += 1
    previous = {}
    if outermost:
        _stop.clear()
        previous = {sig: signal.signal(sig, _on_signal) for sig in SIGNALS}
    try:
        yield
    finally:
        if in_main:
            with _lock:
                _depth -= 1
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def terminate_as_interrupt() -> None:
    """Make SIGTERM raise KeyboardInterrupt like Ctrl-C (for commands without safe points of their own),
    and neither be lost in an import callback (:func:`_interrupt`)."""
    for sig, default in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
        if signal.getsignal(sig) is default:
            signal.signal(sig, _interrupt)


def _interrupt(signum, frame) -> None:
    """KeyboardInterrupt, but not inside the import system's callbacks, which swallow it (printing a
    traceback) and let the command run to its end: there the signal is delivered again a moment later."""
    if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        threading.Timer(REDELIVER_S, os.kill, (os.getpid(), signum)).start()
        return
    raise KeyboardInterrupt


def finished() -> None:
    """The command's work is done: a late SIGINT/SIGTERM (during interpreter shutdown, when Python
    would die of it) is ignored, so a finished deploy exits with its own code."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
