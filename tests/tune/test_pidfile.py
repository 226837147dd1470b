"""Reaping what an earlier run of a study left running: only the very processes its pid files recorded."""

from __future__ import annotations

import subprocess
import sys

from processes import alive, wait_gone

from edgekit.tune.pidfile import PID_FILE, identity, read_pid, reap

# A leftover worker as the local executor makes them: the leader of its own process group, with a
# subprocess in it, its pid file written the way a trial writes it.
LEFTOVER = """
import os, subprocess, sys, time
from pathlib import Path
from edgekit.tune.pidfile import write_pid_file
os.setpgid(0, 0)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
write_pid_file(Path(sys.argv[1]))
print(child.pid, flush=True)
time.sleep(3600)
"""


def test_a_recorded_worker_still_running_is_killed_with_its_process_group(tmp_path):
    trial = tmp_path / "out" / "trials" / "0004"
    trial.mkdir(parents=True)
    worker = subprocess.Popen([sys.executable, "-c", LEFTOVER, str(trial)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(worker.stdout.readline())
        assert read_pid(trial / PID_FILE) == worker.pid
        assert reap(tmp_path / "out") == [worker.pid]
        assert not wait_gone({worker.pid, child}, timeout=5)
        assert reap(tmp_path / "out") == []  # nothing left the second time
    finally:
        worker.kill()
        worker.wait()


def test_a_reused_pid_or_another_machine_s_pid_is_never_killed(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        start, boot = identity(other.pid).split()
        for number, text in enumerate([f"{other.pid} {int(start) + 1} {boot}",   # the pid, reused since
                                       f"{other.pid} {start} not-this-boot",        # written on another machine
                                       f"{other.pid}"]):                            # no identity recorded
            folder = tmp_path / "trials" / f"{number:04d}"
            folder.mkdir(parents=True)
            (folder / PID_FILE).write_text(text + "\n")
        assert reap(tmp_path) == []
        assert alive(other.pid)
    finally:
        other.kill()
        other.wait()

