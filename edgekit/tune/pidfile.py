"""Which process ran a trial (``worker.pid``), and reaping the ones an earlier run left alive.

A pid alone cannot say whether the process is still the trial's worker: pids are reused,
so killing the pid of a pid file could hit an unrelated process. Each pid file therefore
records the process's identity -- its pid, its start time (clock ticks after boot, from
``/proc/PID/stat``) and the machine's boot id -- and a pid is reaped only when a live
process has that very identity. Where there is no ``/proc`` (macOS) or the file was
written on another machine (a Ray node), the identity never matches and nothing is killed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from edgekit.errors import StudyInUseError
from edgekit.fileio import atomic_write_text

PID_FILE = "worker.pid"
REAP_WAIT_S = 10.0


def identity(pid: int) -> str | None:
    """``"START_TICKS BOOT_ID"`` of the live process ``pid`` (None: gone, a zombie, or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "(comm)", which may hold spaces
    if fields[0] == "Z":
        return None
    return f"{fields[19]} {boot}"


def write_pid_file(folder: Path) -> None:
    """``folder/worker.pid``: this process's pid, then its identity (one line, written atomically)."""
    pid = os.getpid()
    atomic_write_text(folder / PID_FILE, f"{pid} {identity(pid) or '-'}\n")


def read_pid(path: Path) -> int:
    """The pid a pid file names."""
    return int(path.read_text().split()[0])


def recorded_alive(path: Path) -> int | None:
    """The pid of ``path`` if the process it recorded still runs (same pid, start time and boot)."""
    try:
        pid, recorded = path.read_text().split(maxsplit=1)
        pid_number = int(pid)
    except (OSError, ValueError):
        return None
    current = identity(pid_number)
    return pid_number if current is not None and current == recorded.strip() else None


def worker_pid_files(out: Path) -> list[Path]:
    """The pid files a study in ``out`` can hold: one per trial, one for the final build."""
    return [*sorted(out.glob(f"trials/*/{PID_FILE}")), out / "build" / PID_FILE]


def reap(out: Path, wait_s: float = REAP_WAIT_S) -> list[int]:
    """Kill the workers of the study in ``out`` that still run (an earlier run's); their pids.

    A local worker leads its own process group (its benchmark and converter subprocesses
    are in it), so the group is killed; any other recorded process alone. StudyInUseError
    if one still runs ``wait_s`` seconds after SIGKILL (stuck in the kernel, or not ours to kill).
    """
    found = {pid: path for path in worker_pid_files(out) if (pid := recorded_alive(path)) is not None}
    for pid in found:
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:  # ended meanwhile; or not ours to kill, and then reported below
            pass
    deadline = time.monotonic() + wait_s
    while (left := [pid for pid, path in found.items() if recorded_alive(path)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        raise StudyInUseError(f"{out}: worker(s) {', '.join(map(str, left))} of an earlier run of this study "
                              f"still run {wait_s:g} s after SIGKILL; stop them, then run again")
    return sorted(found)


__all__ = ["PID_FILE", "identity", "read_pid", "reap", "recorded_alive", "worker_pid_files", "write_pid_file"]
