"""``edgekit deploy`` as one request: a model checked on the host, then deployed to every device of a fleet.

:class:`FleetDeploy` checks what can be checked before any device is contacted -- the model
file, a compact file's int8 reference, the ``--eval`` data scored on the host -- so a bad
request fails in one line with no device touched. :meth:`FleetDeploy.run` deploys to the
devices in parallel and records every benchmark as a ``deploy`` run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgekit.data import Preprocess
from edgekit.remote.connection import ConnectOptions
from edgekit.remote.fleet import Outcome
from edgekit.remote.inventory import Device


@dataclass
class FleetDeploy:
    """What to deploy and how to check it: ``eval_data`` (labelled SPEC, at most ``eval_limit`` samples) runs
    through each device's runtime before activation; ``reference`` is the int8 file a compact MODEL came from."""

    model: Path
    threads: int | None = None
    runs: int = 50
    warmup: int = 5
    bench: bool = True
    eval_data: str | None = None
    eval_limit: int | None = None
    preprocess: Preprocess | None = None
    reference: Path | None = None
    op_profile: bool = False
    evaluation: Any = field(init=False, default=None)  # the --eval data scored on the host (HostEval)

    def __post_init__(self) -> None:
        from edgekit.errors import UsageError
        from edgekit.remote.deploy import check_model_file
        from edgekit.remote.output_check import compact_forms, prepare_eval

        if self.op_profile and not self.bench:
            raise UsageError("--op-profile times the operators during the benchmark; leave out --no-bench")
        check_model_file(self.model)
        if self.reference is not None:
            compact_forms(self.model, self.reference)
        self.evaluation = prepare_eval(self.model, self.eval_data, preprocess=self.preprocess,
                                       limit=self.eval_limit) if self.eval_data else None

    def run(self, devices: list[Device], *, options: ConnectOptions, parallel: int, log,
            on_done: Callable[[Outcome], None], progress: Callable[[str], None] | None = None) -> list[Outcome]:
        """Deploy to ``devices``, ``parallel`` at a time, through the fleet's ``log`` (its single writer);
        ``on_done`` gets each device's outcome as it ends. A failed device does not stop the others."""
        from edgekit.remote import deploy, run_fleet
        from edgekit.results import ResultStore, RunTag

        store = ResultStore().tagged(RunTag("deploy")) if self.bench else None

        def one(device: Device) -> Any:
            return deploy(self.model, device, threads=self.threads, runs=self.runs, warmup=self.warmup,
                          bench=self.bench, options=options, store=store, progress=progress,
                          evaluation=self.evaluation, reference=self.reference,
                          op_profile=self.op_profile)

        return run_fleet(devices, one, parallel=parallel, log=log, on_done=on_done)
