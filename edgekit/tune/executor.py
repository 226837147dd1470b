"""Where trials run: one small interface, so the search code is the same on one machine or a cluster.

The driver hands an :class:`Executor` :class:`Job` s and collects :class:`Outcome` s; it
never learns whether a trial ran in a local worker process or as a Ray task. A job names
its function as ``"module:function"`` (importable on every worker) and carries a
JSON-serialisable payload, so nothing but plain data crosses a process or machine boundary.
Every way a trial can go wrong -- the function raised, its worker died, it ran past its
timeout -- comes back as an ``Outcome`` with ``error`` set; an executor never retries a job
and never raises for one job's failure.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

# What a worker sets before TensorFlow is imported, so its thread pools fit the worker's CPU share.
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    """One trial to run: ``function(payload)`` in a worker with ``cpus`` CPUs, at most ``timeout_s`` seconds."""

    number: int                   # the study's trial number (outcomes are matched by it)
    function: str                 # "package.module:function"
    payload: dict[str, Any]       # JSON-serialisable arguments
    cpus: int = 1
    timeout_s: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a job: the function's return value, or one line saying why there is none."""

    number: int
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(ABC):
    """Runs up to :attr:`slots` jobs at once; :meth:`wait` returns the ones that ended."""

    slots: int

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start ``job`` (the caller keeps at most ``slots`` jobs in flight)."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[Outcome]:
        """Block until at least one job ended (or ``timeout`` passed: then maybe none) and return them."""

    @abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Release the workers; ``cancel``: stop jobs still running (their trials are not told)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(cancel=exc[0] is not None)


def resolve(function: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The callable a job names (``"module:function"``); what a worker runs."""
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)
