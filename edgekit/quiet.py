"""Keep TensorFlow's, LiteRT's and the converter's chatter off stdout (it is for ``--json``) and stderr.

Two tools, both off under ``edgekit --verbose`` (which sets ``EDGEKIT_VERBOSE=1``):

* :func:`quiet_output` swallows everything written to fd 1 and 2 inside a block (the
  converter's "Saved artifact at ...", calibration statistics);
* :class:`StderrFilter` routes the whole process's fd 2 through a small child process that
  drops third-party log lines (:func:`is_noise`) and passes every other line on. absl's C++
  logging writes to fd 2 before any Python code could configure it, and no environment
  variable silences TensorFlow 2.21's start-up lines, so filtering the descriptor is the one
  place that catches them all, whichever command or library call triggers them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from typing import Iterator

VERBOSE_ENV = "EDGEKIT_VERBOSE"

# Lines of third-party logging that say nothing a user of edgekit can act on.
_NOISE = re.compile(
    rb"^(?:"
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} [\d:.]+\s+\d+ [\w.\-/]+:\d+\] "            # absl/glog C++ lines (F: kept)
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+"                     # TensorFlow's older C++ format
    rb"|INFO: "                                                               # TFLite: "Created ... XNNPACK delegate"
    rb"|(?:WARNING|INFO):(?:absl|tensorflow|h5py):"                           # Python logging of absl/TF
    rb"|.*/(?:tensorflow|keras|tf_keras|absl|tensorflow_model_optimization|ai_edge_litert|google)/"
    rb"\S*\.py:\d+: \w*Warning: "                                             # Python warnings of those packages
    rb")")
# Python warning lines are followed by the source line that raised them, indented.
_CONTINUATION = re.compile(rb"^\s+\S")
_THIRD_PARTY = r"(tensorflow|keras|tf_keras|absl|tensorflow_model_optimization|ai_edge_litert|google|h5py)(\.|$)"


def verbose() -> bool:
    """True under ``edgekit --verbose``: third-party log lines are shown."""
    return os.environ.get(VERBOSE_ENV) == "1"


def is_noise(line: bytes) -> bool:
    """Whether one stderr line is third-party logging that the filter drops."""
    return _NOISE.match(line) is not None


@contextlib.contextmanager
def quiet_output() -> Iterator[None]:
    """Swallow what TensorFlow writes to file descriptors 1 and 2 inside the block.

    The converter prints "Saved artifact at ..." and calibration statistics, TensorFlow
    its start-up log lines; errors arrive as exceptions, which carry their own message.
    Python-level prints to ``sys.stdout`` are dropped too (the sink is never closed, as
    loggers created inside the block may keep it). Under ``--verbose`` it lets them through.
    """
    if verbose():
        with contextlib.redirect_stdout(sys.stderr):  # stdout stays for --json
            yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


class StderrFilter:
    """fd 2 of this process (and of the subprocesses it starts) through a filtering child process.

    A child process, not a thread: if TensorFlow aborts the process, the child still
    drains the pipe, so the fatal line reaches the terminal. :meth:`close` puts the real
    stderr back and waits (briefly) until the child has written everything.
    """

    _CLOSE_WAIT_S = 5.0

    def __init__(self) -> None:
        self._pid: int | None = None
        self._real: int | None = None

    def install(self) -> None:
        """Start filtering (once); also sets the environment TensorFlow reads at import."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        warnings.filterwarnings("ignore", module=_THIRD_PARTY)
        if self._pid is not None or not hasattr(os, "fork"):  # Windows: no fork, TensorFlow's lines stay
            return
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        real = os.dup(2)
        pid = os.fork()
        if pid == 0:  # the filter: only os-level calls, never returns
            try:
                os.close(write_end)
                os.dup2(real, 2)
                for fd in (0, 1):  # a reader of edgekit's stdout must see its end when edgekit exits
                    with contextlib.suppress(OSError):
                        os.close(fd)
                _pump(read_end, real)
            finally:
                os._exit(0)
        os.close(read_end)
        os.dup2(write_end, 2)
        os.close(write_end)
        self._pid, self._real = pid, real

    def close(self) -> None:
        """Restore the real stderr and let the child finish (it exits when every writer has closed)."""
        if self._pid is None:
            return
        sys.stderr.flush()
        os.dup2(self._real, 2)
        os.close(self._real)
        deadline = time.monotonic() + self._CLOSE_WAIT_S
        while time.monotonic() < deadline:  # a subprocess still holding the pipe must not hang edgekit
            if os.waitpid(self._pid, os.WNOHANG)[0]:
                break
            time.sleep(0.005)
        self._pid = self._real = None


def _pump(read_end: int, out: int) -> None:
    """Copy lines from ``read_end`` to ``out``, dropping noise, until end of file."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent decides
    pending, skipping = b"", False
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        kept = []
        for line in lines:
            skipping = is_noise(line) or (skipping and _CONTINUATION.match(line) is not None)
            if not skipping:
                kept.append(line + b"\n")
        if pending and not _could_be_noise(pending):  # a prompt or progress without a newline yet
            kept.append(pending)
            pending, skipping = b"", False
        _write_all(out, b"".join(kept))
    if pending and not is_noise(pending):
        _write_all(out, pending)


def _could_be_noise(partial: bytes) -> bool:
    """Whether an unfinished line may still turn out to be noise (then it waits for its newline)."""
    return partial[:1] in (b"W", b"I", b"E", b"/", b" ", b"2") or is_noise(partial)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError:  # the terminal went away: nothing left to show it on
            return
