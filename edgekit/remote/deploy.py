"""Deploy one model to one device and benchmark it there; roll a device back.

    from edgekit.remote import ConnectOptions, Device, deploy
    outcome = deploy("model.tflite", Device("pi", "pi@10.0.0.7", target="rpi4"),
                     options=ConnectOptions(), store=ResultStore())
    outcome.result["timing_ms"]["mean"], outcome.model_bytes_sent, outcome.run_id
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgekit.agent.runner import AGENT_PATH
from edgekit import interrupts
from edgekit.errors import AgentError, OutputMismatchError, RemoteError, TransferError, UsageError, first_line
from edgekit.inspect.reader import check_tflite_file
from edgekit.remote import activation, agent_run, device_start, output_check, preflight, push
from edgekit.remote.agent_session import AgentSession
from edgekit.remote.compat import check_custom_ops, check_model_for_target
from edgekit.remote.connection import ConnectOptions, Connection
from edgekit.remote.inventory import Device
from edgekit.remote.lock import device_lock
from edgekit.targets import Target, load_target

# Models kept on a device when neither the inventory nor the target says (keep_models).
DEFAULT_KEEP_MODELS = 5


@dataclass
class DeployResult:
    """What happened on one device."""

    device: str
    host: str                      # user@hostname:port actually used
    target: str
    model: str                     # the local model file
    sha256: str                    # as the agent measured it on the device (equal to the local file's)
    size_bytes: int
    model_bytes_sent: int          # 0: the device already had this model
    agent_bytes_sent: int
    upload_seconds: float
    current: str | None            # the links after the deploy
    previous: str | None
    arch: str
    runtime: dict | None           # from the pre-flight probe
    stray_removed: list[str] = field(default_factory=list)
    models_removed: list[str] = field(default_factory=list)   # older models deleted (keep_models)
    replaced_corrupt: str | None = None   # sha256 of a corrupted cached copy that was uploaded again
    already_current: bool = False  # the device ran this intact file already: no load check, no switch
    checks: dict | None = None     # the output check before activation (output_check.run): eval, reference
    result: dict | None = None     # the agent's bench result (None with bench=False)
    run_id: int | None = None      # ResultStore id of the benchmark

    @property
    def cached(self) -> bool:
        return self.model_bytes_sent == 0

    @property
    def upload_mb_per_s(self) -> float | None:
        return self.model_bytes_sent / 1e6 / self.upload_seconds if self.model_bytes_sent and self.upload_seconds else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cached": self.cached, "upload_mb_per_s": self.upload_mb_per_s}


@dataclass
class RollbackResult:
    device: str
    host: str
    current: str | None
    previous: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_model_file(path: Path) -> None:
    """A readable TFLite flatbuffer (file identifier ``TFL3``), before any connection is made."""
    check_tflite_file(path)


def target_of(device: Device, target: Target | str | None) -> Target:
    """The device's profile: the given one, else the device's own."""
    if isinstance(target, Target):
        return target
    name = target or device.target
    if not name:
        raise UsageError(f"{device.name}: no target; pass --target or set 'target' for the device in the inventory")
    return load_target(name)


def deploy(model_path: str | Path, device: Device, *, target: Target | str | None = None,
           threads: int | None = None, runs: int = 50, warmup: int = 5, bench: bool = True,
           options: ConnectOptions = ConnectOptions(), store=None,
           progress: Callable[[str], None] | None = None, evaluation: output_check.HostEval | None = None,
           reference: str | Path | None = None, op_profile: bool = False) -> DeployResult:
    """Pre-flight, push (content-addressed, verified), check on the device, activate, benchmark.

    Under the device's deploy lock: the model file is sha256-checked on the device (a
    corrupted cached copy is uploaded again beside it and renamed over it), the agent then
    loads it from its final path and runs one inference, and only a model that ran becomes
    ``current`` (the device re-checks its sha256 right before the switch); a refused file is
    recorded as such on the device and removed. The benchmark runs after the switch (its
    failure leaves the checked model active). ``store`` (an :class:`edgekit.results.ResultStore`)
    records the benchmark with the sha256 the agent measured. Raises a RemoteError/AgentError
    subclass naming the device on failure, Interrupted on SIGINT/SIGTERM (at a safe point;
    InterruptedAfterSwitch during the benchmark); every failure before the switch leaves the
    device's previous model active.

    ``evaluation`` (:func:`edgekit.remote.output_check.prepare_eval`): the labelled data is
    run on the device before activation and scored beside the host's figures; a compact file
    (int4, sparse) always runs beside its int8 reference (``reference``, else re-made on the
    host) there. Outputs beyond tolerance: OutputMismatchError, the file refused and removed.

    ``op_profile``: the benchmark also times each operator alone (its result's ``op_profile``; needs ``bench``).
    """
    model = Path(model_path)
    check_model_file(model)
    profile = target_of(device, target)
    check_model_for_target(model, profile)
    checks = output_check.plan(model, evaluation=evaluation, reference=Path(reference) if reference else None)
    try:
        return _deploy(model, device, profile, threads=threads, runs=runs, warmup=warmup, bench=bench,
                       options=options, store=store, say=progress or (lambda message: None), checks=checks,
                       op_profile=op_profile)
    finally:
        if checks is not None:
            checks.close()


def _deploy(model: Path, device: Device, profile: Target, *, threads: int | None, runs: int, warmup: int,
            bench: bool, options: ConnectOptions, store, say: Callable[[str], None],
            checks: output_check.Plan | None, op_profile: bool = False) -> DeployResult:
    sha256, size = push.sha256_file(model), model.stat().st_size
    agent_sha = push.sha256_file(AGENT_PATH)
    with interrupts.deferred(), Connection.open(device.host, options, label=device.name) as conn:
        started = device_start.start(conn, device.remote_python, device.remote_dir, profile, AGENT_PATH, agent_sha)
        try:
            if started.stray:
                say(f"{device.name}: removed {len(started.stray)} stray partial upload(s) of an interrupted deploy")
            return _deploy_in_session(started.session, model, sha256, size, device, profile, started.layout,
                                      started.arch, started.stray, started.agent, threads=threads, runs=runs,
                                      warmup=warmup, bench=bench, store=store, say=say, checks=checks,
                                      op_profile=op_profile)
        finally:
            started.session.close()


def _deploy_in_session(session: AgentSession, model: Path, sha256: str, size: int, device: Device,
                       profile: Target, layout: push.Layout, arch: str, stray: list[str], agent: push.Upload, *,
                       threads: int | None, runs: int, warmup: int, bench: bool, store,
                       say: Callable[[str], None], checks: output_check.Plan | None,
                       op_profile: bool = False) -> DeployResult:
    """Everything after the start, with one agent process (holding the lock) answering probe, uploads,
    checks, the switch and the benchmark."""
    conn, timeout = session.conn, session.conn.options.bench_timeout
    probe = preflight.probe_runtime(session, device.remote_python, profile, layout.root, size)
    check_custom_ops(model, profile, probe.get("runtime"), where=device.name)
    interrupts.check(device.name)
    say(f"{device.name}: pushing {model.name} ({size} bytes)")
    upload = push.push_file(session, model, sha256, layout.model(sha256), say=say)
    _say_upload(say, device.name, sha256, upload)
    interrupts.check(device.name)
    if upload.current and checks is None:  # nothing to change: the device runs this very file already
        say(f"{device.name}: {sha256[:12]} is already current and intact; skipped the load check and the switch")
        measured, report, links = sha256, None, {"current": upload.current, "previous": upload.previous,
                                                 "removed": []}
    else:
        measured, report, links = _check_and_switch(session, model, sha256, device, profile, layout,
                                                    checks=checks, timeout=timeout, say=say)
    outcome = DeployResult(device=device.name, host=str(conn.host), target=profile.name, model=str(model),
                           sha256=measured, size_bytes=size, model_bytes_sent=upload.bytes_sent,
                           agent_bytes_sent=agent.bytes_sent, upload_seconds=round(upload.seconds, 4),
                           current=links["current"], previous=links["previous"], arch=arch,
                           runtime=probe.get("runtime"), stray_removed=stray, models_removed=links["removed"],
                           replaced_corrupt=upload.replaced, checks=report,
                           already_current=bool(upload.current and checks is None))
    if bench:
        say(f"{device.name}: benchmarking {sha256[:12]}" + (", then each operator alone" if op_profile else ""))
        started = time.monotonic()
        result = agent_run.run_bench(session, layout.model(sha256), profile,
                                     threads=threads or profile.default_threads or 1, runs=runs, warmup=warmup,
                                     timeout=timeout, active=True, op_profile=op_profile)
        say(f"{device.name}: benchmarked in {time.monotonic() - started:.1f}s")
        outcome.result = {**result, "model": {**result["model"], "path": str(model),
                                              "remote_path": result["model"]["path"]},
                          "deploy": {"device": device.name, "host": str(conn.host),
                                     "bytes_sent": upload.bytes_sent}}
        if store is not None:
            outcome.run_id = store.record(outcome.result, target=profile.name, host=device.name)
    return outcome


def _check_and_switch(session: AgentSession, model: Path, sha256: str, device: Device, profile: Target,
                      layout: push.Layout, *, checks: output_check.Plan | None, timeout: float,
                      say: Callable[[str], None]) -> tuple[str, dict | None, dict]:
    """The device runs the file from its final path, then switches to it: (sha256 it read, check report, links)."""
    conn = session.conn
    try:
        measured, report = _check(session, device, profile, layout, model, sha256, checks=checks,
                                  timeout=timeout, say=say)
    except (AgentError, OutputMismatchError) as err:  # the device's verdict: refused
        _refuse(session, device, layout, sha256, err, say)
        raise
    if measured != sha256:
        misread = TransferError(f"{device.name}: the agent read sha256 {measured[:12]} from "
                                f"{layout.model(sha256)}, expected {sha256[:12]}; nothing was activated; "
                                "deploy again")
        _refuse(session, device, layout, sha256, misread, say)
        raise misread
    interrupts.check(device.name)  # the last point where stopping leaves the device as it was
    say(f"{device.name}: activating {sha256[:12]}")
    keep = device.keep_models or profile.keep_models or DEFAULT_KEEP_MODELS
    links = activation.activate(conn, device.remote_python, layout, sha256, keep, session)
    if links["removed"]:
        say(f"{device.name}: removed {len(links['removed'])} old model(s) (keep_models = {keep})")
    return measured, report, links


def _check(session: AgentSession, device: Device, profile: Target, layout: push.Layout, model: Path,
           sha256: str, *, checks: output_check.Plan | None, timeout: float,
           say: Callable[[str], None]) -> tuple[str, dict | None]:
    """The agent loads and runs the file from its final path: (the sha256 it read, the output check's report).

    AgentError or OutputMismatchError when the device refuses it.
    """
    report = None
    if checks is None:
        say(f"{device.name}: checking that the device runs {sha256[:12]} before activating it")
        checked = agent_run.run_bench(session, layout.model(sha256), profile, threads=1, runs=1, warmup=0,
                                      timeout=timeout)
        measured = checked["model"]["sha256"]
    else:  # the output check loads and runs the file from its final path too: no separate run
        say(f"{device.name}: checking {sha256[:12]} on {len(checks.inputs[0])} sample(s) through the device's "
            "runtime" + (" beside its int8 reference" if checks.reference else "") + " before activating it")
        outputs = output_check.Session(session.conn, device.remote_python, session, layout, profile, timeout)
        report = output_check.run(outputs, checks, layout.model(sha256), where=device.name, name=model.name)
        measured = report["sha256"]
    return measured, report


def _refuse(session: AgentSession, device: Device, layout: push.Layout, sha256: str, err: Exception,
            say: Callable[[str], None]) -> None:
    """Record the refusal on the device, which removes the file unless a link points at it (best effort:
    a model never activated is the first one retention removes anyway). If the agent died (it held the
    deploy lock), under the lock taken again."""
    conn = session.conn
    try:
        with device_lock(conn, device.remote_python, layout.root) if session.dead else contextlib.nullcontext():
            removed = activation.refuse(conn, device.remote_python, layout, sha256, first_line(err), session)
    except RemoteError:
        return
    if removed:
        say(f"{device.name}: removed {len(removed)} refused model file(s)")


def _say_upload(say: Callable[[str], None], name: str, sha256: str, upload: push.Upload) -> None:
    if not upload.bytes_sent:
        say(f"{name}: model {sha256[:12]} already on the device (sha256 checked there), 0 model bytes sent")
    else:
        say(f"{name}: sent {upload.bytes_sent} model bytes in {upload.seconds:.2f}s "
            f"({upload.bytes_sent / 1e6 / max(upload.seconds, 1e-9):.1f} MB/s), sha256 verified on the device")


def rollback(device: Device, *, options: ConnectOptions = ConnectOptions()) -> RollbackResult:
    """Make the device's previous model current again (and the current one previous).

    The device verifies the previous model's sha256 first: a corrupted one is refused
    (RemoteError) and ``current`` stays.
    """
    with interrupts.deferred(), Connection.open(device.host, options, label=device.name) as conn:
        layout = push.resolve_root(conn, device.remote_dir)
        with device_lock(conn, device.remote_python, layout.root):
            links = activation.rollback(conn, device.remote_python, layout)
        return RollbackResult(device=device.name, host=str(conn.host), current=links["current"],
                              previous=links["previous"])
