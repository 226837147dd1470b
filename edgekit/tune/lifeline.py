"""A local worker dies with its driver, however the driver dies (``kill -9`` included).

Nothing the driver does on its way out can be relied on: SIGKILL runs no handler and no
``finally``. What the kernel does for a dead process can: it closes its file descriptors and
signals the children that asked for it. So a worker is tied to its driver twice:

- the *lifeline*: a pipe whose only write end the driver holds. At its start the worker
  makes itself the leader of a process group of its own (its benchmark and converter
  subprocesses join it) and forks a *sentinel*, a small process that blocks reading the pipe.
  End of file -- the driver died, or closed the pipe to stop the trial -- and the sentinel
  kills the whole group with SIGKILL, itself included. Works wherever there are pipes and
  process groups (Linux and macOS), and also takes the worker's subprocesses with it.
- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker itself when
  the thread that started it ends. That is the driver's death only when the thread is the
  main thread (which lives as long as the process), so the driver asks for it only then.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def hold(lifeline_fd: int, parent_pid: int, parent_death_signal: bool) -> int:
    """Called first thing in a worker: tie this process (and its future subprocesses) to the driver.

    ``lifeline_fd`` is the read end of the lifeline (the caller closes its copy afterwards);
    ``parent_pid`` the driver's pid. Returns the sentinel's pid, for :func:`release`."""
    os.setpgid(0, 0)
    sentinel = os.fork()
    if sentinel == 0:
        _sentinel(lifeline_fd)
    if parent_death_signal and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent_pid:  # the driver died before the tie was made
        os.killpg(0, signal.SIGKILL)
    return sentinel


def release(sentinel: int) -> None:
    """The worker's job is over (its subprocesses ended with it): stop and reap its sentinel, which
    would otherwise wait for the driver as an orphan."""
    os.kill(sentinel, signal.SIGKILL)
    os.waitpid(sentinel, 0)


def _sentinel(lifeline_fd: int) -> None:
    """The sentinel process: wait for the lifeline's end of file, then kill the worker's group. Never returns."""
    try:
        os.closerange(0, lifeline_fd)   # stdio and every other inherited pipe: nobody waits on the sentinel
        os.closerange(lifeline_fd + 1, os.sysconf("SC_OPEN_MAX"))
        while os.read(lifeline_fd, 1):
            pass
    finally:
        os.killpg(0, signal.SIGKILL)    # the sentinel is in the group: this is its end too
        os._exit(0)


__all__ = ["hold", "release"]
