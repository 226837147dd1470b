"""Trials in local worker processes: a fresh spawned process per trial.

A fresh process per trial bounds memory (TensorFlow never gives back what a trial
allocated) and isolates crashes: a worker that dies or runs past its timeout is one
failed :class:`~edgekit.tune.executor.Outcome`, and the next trial starts in a new
process. Each worker's TensorFlow gets its share of the CPUs (``TF_NUM_INTRAOP_THREADS``
etc. are set before TensorFlow is imported), so N workers do not oversubscribe the machine.
Workers ignore SIGINT and run in process groups of their own: it is the driver that decides
what stops. A worker never outlives the driver, however the driver ends
(:mod:`edgekit.tune.lifeline`); closing a worker's lifeline stops it with its subprocesses.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import Connection, wait as wait_ready
from typing import Any

from edgekit.tune import lifeline
from edgekit.tune.executor import THREAD_VARIABLES, Executor, Job, Outcome, resolve


def _work(function: str, payload: dict[str, Any], threads: int | None, conn: Connection, line: Connection,
          driver: int, from_main_thread: bool) -> None:
    """The worker process: tied to the driver, threads capped, one job, its result or error sent back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sentinel = lifeline.hold(line.fileno(), driver, parent_death_signal=from_main_thread)
    line.close()
    for name in THREAD_VARIABLES if threads else ():
        os.environ[name] = str(threads)
    try:
        result = resolve(function)(payload)
        conn.send(("ok", result))
    except BaseException as exc:  # noqa: BLE001 -- the worker reports every failure as data
        conn.send(("error", _one_line(exc)))
    finally:
        conn.close()
        lifeline.release(sentinel)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Running:
    def __init__(self, job: Job, process: multiprocessing.Process, conn: Connection, line: Connection):
        self.job, self.process, self.conn, self.line = job, process, conn, line
        self.deadline = time.monotonic() + job.timeout_s if job.timeout_s else None

    def release(self) -> None:
        """The worker has ended: close its result pipe and its lifeline (whose sentinel then kills
        what is left of the worker's process group: subprocesses of a killed worker)."""
        self.process.join()
        self.conn.close()
        self.line.close()


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LocalExecutor(Executor):
    """``workers`` processes at a time, each with ``cpus // workers`` threads (at least 1).

    A single worker has the whole machine: its TensorFlow keeps its default thread
    count, the one ``edgekit build`` runs with. Thread counts change the bytes training
    produces (float sums in another order), so only then do a trial's files and a later
    build of the same recipe match byte for byte.
    """

    def __init__(self, workers: int = 1, cpus: int | None = None, timeout_s: float | None = None):
        self.slots = max(1, workers)
        self.threads = None if self.slots == 1 and cpus is None else max(1, (cpus or usable_cpus()) // self.slots)
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._running: dict[int, _Running] = {}

    def submit(self, job: Job) -> None:
        receive, send = self._context.Pipe(duplex=False)
        line_end, line = self._context.Pipe(duplex=False)   # the worker reads, only this process writes
        main = threading.current_thread() is threading.main_thread()
        process = self._context.Process(target=_work, name=f"edgekit-tune-trial-{job.number}", daemon=True,
                                        args=(job.function, job.payload, self.threads, send, line_end,
                                              os.getpid(), main))
        process.start()
        send.close()
        line_end.close()
        if job.timeout_s is None and self.timeout_s:
            job = Job(job.number, job.function, job.payload, job.cpus, self.timeout_s)
        self._running[job.number] = _Running(job, process, receive, line)

    def pids(self) -> dict[int, int]:
        """Trial number -> worker pid of the jobs in flight."""
        return {number: run.process.pid for number, run in self._running.items()}

    def wait(self, timeout: float | None = None) -> list[Outcome]:
        if not self._running:
            return []
        deadlines = [r.deadline for r in self._running.values() if r.deadline is not None]
        limit = min([*deadlines, time.monotonic() + timeout] if timeout is not None else deadlines, default=None)
        wait_ready([r.process.sentinel for r in self._running.values()] + [r.conn for r in self._running.values()],
                   timeout=None if limit is None else max(0.0, limit - time.monotonic()))
        done = []
        for number, run in list(self._running.items()):
            outcome = self._collect(run)
            if outcome is not None:
                done.append(outcome)
                del self._running[number]
        return done

    def _collect(self, run: _Running) -> Outcome | None:
        number = run.job.number
        if run.conn.poll():
            try:
                kind, value = run.conn.recv()
            except (EOFError, OSError):
                kind, value = "died", None
            if kind != "died":
                run.release()
                return Outcome(number, result=value) if kind == "ok" else Outcome(number, error=value)
        if not run.process.is_alive():
            run.release()
            code = run.process.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
            return Outcome(number, error=f"worker {how} before the trial finished")
        if run.deadline is not None and time.monotonic() >= run.deadline:
            self._stop(run)
            return Outcome(number, error=f"trial timed out after {run.job.timeout_s:g} s (worker stopped)")
        return None

    @staticmethod
    def _stop(run: _Running) -> None:
        run.line.close()
        run.process.kill()
        run.release()

    def close(self, cancel: bool = False) -> None:
        for run in self._running.values():
            if cancel:
                self._stop(run)
            else:
                run.release()
        self._running.clear()


__all__ = ["LocalExecutor", "THREAD_VARIABLES", "usable_cpus"]
