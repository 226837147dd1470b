"""Which executor runs the trials: a registry of factories, chosen by the command line.

``local`` (worker processes on this machine) is the default; ``ray`` is chosen by
``--ray ADDRESS`` and imported only then (Ray is a heavy import and an optional install).
A factory takes the same keyword arguments for every kind, so the driver does not branch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from edgekit.errors import UsageError
from edgekit.tune.executor import Executor


@dataclass(frozen=True)
class ExecutorSpec:
    """What the user asked for: ``workers`` local processes, or a Ray cluster at ``ray_address``."""

    workers: int = 1
    ray_address: str | None = None
    cpus_per_trial: int = 1
    timeout_s: float | None = None

    @property
    def kind(self) -> str:
        return "ray" if self.ray_address else "local"


def _local(spec: ExecutorSpec) -> Executor:
    from edgekit.tune.local_executor import LocalExecutor

    return LocalExecutor(workers=spec.workers, timeout_s=spec.timeout_s)


def _ray(spec: ExecutorSpec) -> Executor:
    try:
        module = importlib.import_module("edgekit.tune.ray_executor")
    except ModuleNotFoundError as exc:
        raise UsageError(f"--ray needs Ray: pip install 'edgekit[tune]' ({exc.name} is missing)") from None
    return module.RayExecutor(address=spec.ray_address, cpus_per_trial=spec.cpus_per_trial, timeout_s=spec.timeout_s)


FACTORIES: dict[str, Callable[[ExecutorSpec], Executor]] = {"local": _local, "ray": _ray}


def check_spec(spec: ExecutorSpec) -> None:
    """UsageError for settings no executor accepts (before a study is created)."""
    if spec.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {spec.workers}")
    if spec.timeout_s is not None and spec.timeout_s <= 0:
        raise UsageError(f"--trial-timeout must be a number of seconds > 0, got {spec.timeout_s:g}")


def make_executor(spec: ExecutorSpec) -> Executor:
    """The executor ``spec`` names."""
    check_spec(spec)
    return FACTORIES[spec.kind](spec)


__all__ = ["ExecutorSpec", "FACTORIES", "check_spec", "make_executor"]
