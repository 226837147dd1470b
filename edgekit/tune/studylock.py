"""One ``edgekit tune`` per study folder: a lock held for the whole life of the study.

Two drivers on one study would both ask Optuna for trials, write the same trial folders and
race on ``tune.json`` and the chosen model; a ``--resume`` while the study still runs is the
usual way to get there. The lock is an ``flock`` on ``OUT/.locks/study.lock``, held by the
driver from before the study is opened until its outputs are written; the kernel releases
it when the driver dies, however it dies, so a stale lock cannot block a resume. It is not
held by the workers: what an earlier run left running is stopped by :func:`~edgekit.tune.pidfile.reap`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from edgekit.errors import StudyInUseError

LOCK_FILE = Path(".locks") / "study.lock"


@contextlib.contextmanager
def hold_study(out: Path) -> Iterator[None]:
    """Hold ``out``'s study lock for the body (creating ``out``); StudyInUseError if another process holds it."""
    path = out / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise StudyInUseError(f"{out}: another `edgekit tune`{f' (pid {holder})' if holder else ''} is running "
                                  "this study; wait for it to end (or stop it) and run again, or choose "
                                  "another --out") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)  # the next holder writes its own pid; no stale one is ever shown


__all__ = ["LOCK_FILE", "hold_study"]
