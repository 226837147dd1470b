"""Run one action (deploy, rollback) on several devices with bounded parallelism.

A failing device never stops the others: every outcome is collected, successes are
kept (and recorded by the action), and the caller decides the exit code. SIGINT/SIGTERM
(:mod:`edgekit.interrupts`) stops the devices in flight at their next safe point and
starts no queued one: those come back as ``Interrupted`` "not started". No exception of a
worker ends the run: an unexpected one (paramiko's EMFILE, a bug) fails that device alone,
so every device ends ok, failed or not started and the caller always gets every outcome.
Parallelism is bounded by the open-file limit too (:mod:`edgekit.remote.fd_budget`).
"""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from edgekit import interrupts
from edgekit.errors import EdgekitError, Interrupted, InterruptedAfterSwitch, RemoteError, first_line
from edgekit.remote.fd_budget import bound_parallel
from edgekit.remote.fleet_log import FleetLog
from edgekit.remote.inventory import Device

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    device: Device
    value: T | None = None
    error: EdgekitError | None = None
    started: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def interrupted(self) -> bool:
        return isinstance(self.error, Interrupted)

    @property
    def state(self) -> str:
        """What the device's own line reports: ok, failed, not started, stopped before/after activating."""
        if self.ok:
            return "ok"
        if not self.interrupted:
            return "failed"
        if not self.started:
            return "not started"
        return "stopped after activating" if isinstance(self.error, InterruptedAfterSwitch) else \
            "stopped before activating"


def run_fleet(devices: list[Device], action: Callable[[Device], T], *, parallel: int = 4,
              on_done: Callable[[Outcome[T]], None] | None = None, log: FleetLog | None = None) -> list[Outcome[T]]:
    """``action(device)`` for each device, at most ``parallel`` at a time; outcomes in device order.

    ``on_done`` is called in the calling thread as each device finishes (one line per host);
    ``log`` (the fleet's single writer) hears of a lowered parallelism and counts each device.
    """
    workers, note = bound_parallel(parallel, len(devices) or 1)
    if note and log is not None:
        log.line(f"edgekit: {note}", err=True)
    outcomes: dict[str, Outcome[T]] = {}
    with interrupts.deferred(), ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_attempt, action, device): device for device in devices}
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[outcome.device.name] = outcome
            if on_done:
                on_done(outcome)
            if log is not None:
                log.finished(outcome.ok)
    if log is not None:
        log.close()
    return [outcomes[d.name] for d in devices]


def _attempt(action: Callable[[Device], T], device: Device) -> Outcome[T]:
    if interrupts.requested():
        return Outcome(device, error=Interrupted(f"{device.name}: not started (interrupted)"), started=False)
    try:
        return Outcome(device, value=action(device))
    except EdgekitError as err:
        return Outcome(device, error=err)
    except Exception as exc:  # noqa: BLE001 - one device's surprise must not end the fleet
        return Outcome(device, error=unexpected(device, exc))


def unexpected(device: Device, exc: Exception) -> RemoteError:
    """A one-line failure for an exception no layer below turned into an EdgekitError."""
    if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
        return RemoteError(f"{device.name}: too many open files (ulimit -n); run again with a lower --parallel "
                           "or a higher 'ulimit -n'")
    return RemoteError(f"{device.name}: unexpected {type(exc).__name__}: {first_line(exc) or 'no message'}")
