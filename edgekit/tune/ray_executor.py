"""Trials as Ray tasks on an existing cluster (``edgekit tune --ray ADDRESS``).

The address is always explicit: a bare ``ray.init()`` would start a private cluster or
attach to whichever one it finds, so ``host:port`` is required and checked with a plain TCP
connect first (``ray.init`` would otherwise retry an unreachable address for minutes).
Every trial is one task with ``num_cpus`` = the job's CPUs and no retries of any kind: a
trial that raised, whose worker was killed or crashed, whose node died, or that ran past
its timeout (then cancelled with ``force=True``, which kills its worker) is one failed
:class:`~edgekit.tune.executor.Outcome`, and the other trials go on. TensorFlow's thread
pools are sized to the task's CPUs through ``runtime_env`` environment variables, which are
set before the worker process starts, hence before TensorFlow is imported.

A worker runs up to :data:`TRIALS_PER_WORKER` trials before Ray replaces it: a fresh worker
per trial pays the TensorFlow/Keras import every time (8-12 s each on a loaded 2-core
machine, against 0 s reused; bench/results/tune_ray.md), while recycling now and then returns the memory
TensorFlow keeps after a trial. Trial inputs and outputs are paths: every node must see the
study's folder at the same path (a shared filesystem), and a trial runs in the driver's
working directory, so relative paths mean the same as for the driver; docs/ray.md says how.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

import ray
import ray.exceptions

from edgekit.errors import ClusterError, UsageError, first_line
from edgekit.tune.executor import THREAD_VARIABLES, Executor, Job, Outcome, resolve

TRIALS_PER_WORKER = 10
CONNECT_TIMEOUT_S = 5.0
START_HINT = "start one with `ray start --head --port=6379` (docs/ray.md)"
SHARED_FS_HINT = "every node must see the study's files at the same path (docs/ray.md)"


def _run(function: str, payload: dict[str, Any], cwd: str) -> dict[str, Any]:
    """What a Ray worker runs for one job, in the driver's working directory (relative paths of the payload
    mean the same there); a missing file names this node (the usual cause: no shared filesystem)."""
    try:
        os.chdir(cwd)
        return resolve(function)(payload)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{first_line(exc)} on node {ray.util.get_node_ip_address()}; "
                                f"{SHARED_FS_HINT}") from None


_remote_run = ray.remote(max_calls=TRIALS_PER_WORKER)(_run)


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` of a Ray head's GCS; anything else (``auto``, ``local``, ``ray://``) is refused."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or "://" in address or not 0 < int(port) < 65536:
        raise UsageError(f"--ray {address!r}: expected the head node's HOST:PORT (e.g. 10.0.0.5:6379), "
                         "the address `ray start --head` prints")
    return host.strip("[]"), int(port)


def check_reachable(address: str) -> None:
    """ClusterError unless something accepts TCP connections at ``address``."""
    host, port = parse_address(address)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ClusterError(f"--ray {address}: no Ray cluster reachable there ({first_line(exc)}); "
                           f"{START_HINT}") from None


def connect(address: str) -> None:
    """Attach this process to the cluster at ``address`` (never start one)."""
    check_reachable(address)
    if ray.is_initialized():
        ray.shutdown()
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except ray.exceptions.AuthenticationError as exc:
        raise ClusterError(f"--ray {address}: the cluster refused this driver's token ({first_line(exc)}); "
                           "set RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN to the cluster's token "
                           "(docs/ray.md)") from None
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
        raise ClusterError(f"--ray {address}: could not join the Ray cluster ({first_line(exc)}); check that "
                           "it runs there and that RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN hold its token "
                           "(docs/ray.md)") from None


def describe_failure(exc: BaseException) -> str:
    """One line saying why a task gave no result."""
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause if exc.cause is not None else exc
        # the trial's own error: a path the node cannot see plus its fix must survive whole
        return f"{type(cause).__name__}: {first_line(cause, limit=600)}"
    if isinstance(exc, ray.exceptions.OutOfMemoryError):
        return "the Ray worker running the trial was killed by Ray's memory monitor (out of memory)"
    if isinstance(exc, ray.exceptions.WorkerCrashedError):
        return "the Ray worker running the trial died (killed or crashed) before it finished"
    if isinstance(exc, ray.exceptions.NodeDiedError | ray.exceptions.LocalRayletDiedError):
        return "the Ray node running the trial died before it finished"
    return f"Ray could not run the trial: {type(exc).__name__}: {first_line(exc)}"


class _Running:
    def __init__(self, job: Job, timeout_s: float | None):
        self.job = job
        self.timeout_s = job.timeout_s or timeout_s
        self.deadline = time.monotonic() + self.timeout_s if self.timeout_s else None


class RayExecutor(Executor):
    """Trials as tasks of the Ray cluster at ``address``; ``slots`` = the cluster's CPUs // ``cpus_per_trial``."""

    def __init__(self, address: str, cpus_per_trial: int = 1, timeout_s: float | None = None):
        if cpus_per_trial < 1:
            raise UsageError(f"CPUs per trial must be at least 1, got {cpus_per_trial}")
        connect(address)
        self.address = address
        self.timeout_s = timeout_s
        widest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
        if widest < cpus_per_trial:
            ray.shutdown()
            raise ClusterError(f"--ray {address}: no node of the cluster has {cpus_per_trial} CPUs for a trial "
                               f"(the largest has {widest:g}); give trials fewer CPUs or add a larger node")
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 0)) // cpus_per_trial)
        self._running: dict[ray.ObjectRef, _Running] = {}

    def submit(self, job: Job) -> None:
        threads = {name: str(job.cpus) for name in THREAD_VARIABLES}
        options = _remote_run.options(num_cpus=job.cpus, max_retries=0, retry_exceptions=False,
                                      runtime_env={"env_vars": threads}, name=f"edgekit-tune-trial-{job.number}")
        ref = options.remote(job.function, job.payload, os.getcwd())
        self._running[ref] = _Running(job, self.timeout_s)

    def wait(self, timeout: float | None = None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        while self._running:
            ended = self._collect()
            if ended:
                return ended
            now = time.monotonic()
            if end is not None and now >= end:
                return []
            limits = [r.deadline for r in self._running.values() if r.deadline is not None]
            if end is not None:
                limits.append(end)
            step = max(0.0, min(limits) - now) if limits else None
            ray.wait(list(self._running), num_returns=1, timeout=step)
        return []

    def _collect(self) -> list[Outcome]:
        """Outcomes of the tasks that ended and of those past their deadline (which are cancelled)."""
        ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
        ended = [self._outcome(ref, self._running.pop(ref).job) for ref in ready]
        now = time.monotonic()
        for ref, run in list(self._running.items()):
            if run.deadline is not None and now >= run.deadline:
                ray.cancel(ref, force=True)
                del self._running[ref]
                ended.append(Outcome(run.job.number,
                                     error=f"timed out after {run.timeout_s:g} s (its Ray worker was stopped)"))
        return ended

    @staticmethod
    def _outcome(ref: ray.ObjectRef, job: Job) -> Outcome:
        try:
            return Outcome(job.number, result=ray.get(ref))
        except ray.exceptions.RayError as exc:
            return Outcome(job.number, error=describe_failure(exc))

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for ref in self._running:
                ray.cancel(ref, force=True)
        self._running.clear()
        if ray.is_initialized():
            ray.shutdown()


__all__ = ["RayExecutor", "check_reachable", "connect", "describe_failure", "parse_address"]
