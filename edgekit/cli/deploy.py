"""``edgekit deploy`` and ``edgekit rollback``: push a model to devices over SSH, benchmark it there."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from edgekit.cli.dataopts import SPEC_HELP, preprocess_from, preprocess_options
from edgekit.cli.output import emit_json, info, json_option, stderr_is_tty


def _connection_options(func):
    """The SSH flags shared by deploy and rollback."""
    options = [
        click.option("--target", help="Device profile (see 'edgekit targets list'); alone: every inventory "
                                      "device registered for it."),
        click.option("--host", "hosts", multiple=True, metavar="[USER@]HOST[:PORT]",
                     help="A device by address or ~/.ssh/config alias (repeatable)."),
        click.option("--device", "devices", multiple=True, metavar="NAME", help="An inventory device (repeatable)."),
        click.option("--group", "groups", multiple=True, metavar="G", help="Every inventory device in group G."),
        click.option("--inventory", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="Inventory file (default: ./edgekit.toml, else $XDG_CONFIG_HOME/edgekit/inventory.toml)."),
        click.option("--parallel", type=click.IntRange(min=1), default=4, show_default=True,
                     help="Devices handled at the same time."),
        click.option("--remote-python", metavar="P", help="Python on the device [default: python3]."),
        click.option("--remote-dir", metavar="D", help="edgekit's directory on the device [default: ~/.edgekit]."),
        click.option("--known-hosts", type=click.Path(dir_okay=False, path_type=Path),
                     help="known_hosts file to trust and record accepted keys in [default: ssh_config's "
                          "UserKnownHostsFile, else ~/.ssh/known_hosts]."),
        click.option("--accept-new-host-key", is_flag=True,
                     help="Record the key of a host not yet known (like StrictHostKeyChecking=accept-new); "
                          "a changed key is still refused."),
        click.option("--ssh-config", type=click.Path(dir_okay=False, path_type=Path),
                     help="ssh_config file [default: ~/.ssh/config]."),
        click.option("-i", "identity", type=click.Path(dir_okay=False, path_type=Path),
                     help="Private key file to try first."),
        click.option("--connect-timeout", type=click.FloatRange(min=0.1),
                     help="Seconds for TCP connect, SSH banner and authentication, each "
                          "[default: ssh_config's ConnectTimeout, else 10]."),
        click.option("--command-timeout", type=click.FloatRange(min=0.1), default=60, show_default=True,
                     help="Seconds for each remote command and SFTP operation."),
        click.option("--verbose", is_flag=True,
                     help="Every device's progress lines and full result line (the default for one device; "
                          "a fleet prints one short line per device as it ends)."),
        json_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(kw: dict, bench_timeout: float = 600):
    from edgekit.remote import ConnectOptions

    return ConnectOptions(known_hosts=kw["known_hosts"], accept_new_host_key=kw["accept_new_host_key"],
                          identity=kw["identity"], ssh_config=kw["ssh_config"],
                          connect_timeout=kw["connect_timeout"], command_timeout=kw["command_timeout"],
                          bench_timeout=bench_timeout)


def _devices(kw: dict):
    """The devices the flags name: --host specs, --device/--group, or the --target's inventory devices."""
    from edgekit.remote import resolve_devices

    return resolve_devices(hosts=kw["hosts"], names=kw["devices"], groups=kw["groups"], target=kw["target"],
                           inventory=kw["inventory"], remote_python=kw["remote_python"],
                           remote_dir=kw["remote_dir"])


def _fleet_log(devices: list, kw: dict, what: str):
    """The fleet's single writer: every line goes through it, whole. A fleet is compact unless --verbose."""
    from edgekit.remote.fleet_log import FleetLog

    fleet = len(devices) > 1
    return FleetLog(lambda text, err: click.echo(text, nl=False, err=err), total=len(devices),
                    verbose=kw["verbose"] or not fleet, live=fleet and not kw["as_json"] and stderr_is_tty(),
                    what=what)


def _finish(ctx: click.Context, outcomes, as_json: bool) -> None:
    """Summary line / JSON, and a non-zero exit if any device failed: 130 if interrupted, else the first failure's.

    The summary counts each device's state, the one its own line reported, then names every device that
    failed or stopped, with its reason (one line each)."""
    failed = [o for o in outcomes if not o.ok]
    interrupted = [o for o in failed if o.interrupted]
    states = Counter(o.state for o in outcomes)
    summary = {"devices": len(outcomes), "ok": len(outcomes) - len(failed), "failed": len(failed),
               "interrupted": len(interrupted)}
    if as_json:
        emit_json({"summary": summary, "devices": [_json_entry(o) for o in outcomes]})
    elif interrupted:
        shown = [s for s in _INTERRUPTED_STATES if states[s] or s in _ALWAYS_SHOWN]
        click.echo(f"interrupted: {states['ok']} of {len(outcomes)} device(s) done, "
                   + ", ".join(f"{states[s]} {s}" for s in shown))
    elif len(outcomes) > 1:
        click.echo(f"{summary['ok']} of {summary['devices']} device(s) ok, {summary['failed']} failed")
    if not as_json and len(outcomes) > 1:
        for outcome in failed:
            if outcome.started:
                click.echo(f"  {outcome.state}: {_reason(outcome)}")
    if failed:
        ctx.exit(130 if interrupted else failed[0].error.exit_code)


def _reason(outcome) -> str:
    """The device's error as one line that starts with the device's name."""
    text = " ".join(str(outcome.error).split())
    return text if text.startswith(outcome.device.name) else f"{outcome.device.name}: {text}"


def _json_entry(outcome) -> dict:
    details = outcome.value.to_dict() if outcome.ok else {
        "error": str(outcome.error), "exit_code": outcome.error.exit_code, "started": outcome.started}
    return {"device": outcome.device.name, "ok": outcome.ok, "state": outcome.state, **details}


# The interrupted summary's parts, in order; the others appear only when some device is in that state.
_INTERRUPTED_STATES = ("stopped after activating", "stopped before activating", "not started", "failed")
_ALWAYS_SHOWN = ("stopped before activating", "not started")


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@_connection_options
@click.option("--threads", type=click.IntRange(min=1), help="Interpreter threads [default: the target's].")
@click.option("--runs", type=click.IntRange(min=1), default=50, show_default=True, help="Timed inferences.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Untimed inferences.")
@click.option("--bench-timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              help="Seconds before the on-device benchmark is killed.")
@click.option("--no-bench", is_flag=True, help="Only push and activate the model.")
@click.option("--op-profile", is_flag=True,
              help="The benchmark also times each operator alone: its median, its share, a summary by op type.")
@click.option("--eval", "eval_data", metavar="SPEC",
              help=f"Labelled data run through the device's own runtime before activation: device accuracy beside "
                   f"the host's (LiteRT) and their top-1 agreement; a device computing otherwise is refused. {SPEC_HELP}.")
@click.option("--eval-limit", type=click.IntRange(min=1), help="Use at most this many --eval samples (fixed-seed choice).")
@click.option("--reference", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The int8 file a compact (int4/sparse) MODEL was made from; the device must compute the same "
                   "with both [default: MODEL re-made as plain int8 on the host].")
@preprocess_options
@click.pass_context
def deploy(ctx: click.Context, model: Path, threads: int | None, runs: int, warmup: int, bench_timeout: float,
           no_bench: bool, op_profile: bool, eval_data: str | None, eval_limit: int | None, reference: Path | None,
           scale: float | None, mean: float | None, std: float | None, **kw) -> None:
    """Push MODEL (.tflite) to devices, switch to it atomically, and benchmark it there.

    The model is uploaded once per device (content-addressed), verified by sha256 on
    the device (a cached copy too), run there by the agent, and only then activated by
    renaming a symlink; the previous model is kept for 'edgekit rollback'. One deploy per
    device at a time (a lock on the device). Ctrl-C stops at the next safe point (exit
    130). Every benchmark is recorded (see 'edgekit history'). A compact (int4/sparse) file
    runs beside its int8 reference on the device first and is refused (exit 5) if they differ.
    """
    from edgekit.remote.fleet_deploy import FleetDeploy

    request = FleetDeploy(model, threads=threads, runs=runs, warmup=warmup, bench=not no_bench, eval_data=eval_data,
                          eval_limit=eval_limit, preprocess=preprocess_from(scale, mean, std), reference=reference,
                          op_profile=op_profile)
    devices = _devices(kw)
    options = _options(kw, bench_timeout)
    log = _fleet_log(devices, kw, "deployed")
    if not kw["as_json"]:
        info(f"deploying {model.name} to {len(devices)} device(s)")
    line = _deploy_line if log.verbose else _compact_deploy_line
    outcomes = request.run(devices, options=options, parallel=kw["parallel"], log=log,
                           on_done=lambda o: _echo(o, lambda r: line(r) + _op_profile(r.result), log, kw["as_json"]),
                           progress=None if kw["as_json"] else log.progress)
    _finish(ctx, outcomes, kw["as_json"])


@click.command()
@_connection_options
@click.pass_context
def rollback(ctx: click.Context, **kw) -> None:
    """Make each device's previous model current again."""
    from edgekit.remote import rollback as rollback_one, run_fleet

    devices = _devices(kw)
    options = _options(kw)
    log = _fleet_log(devices, kw, "rolled back")
    if not kw["as_json"]:
        info(f"rolling back {len(devices)} device(s)")
    outcomes = run_fleet(devices, lambda d: rollback_one(d, options=options), parallel=kw["parallel"], log=log,
                         on_done=lambda o: _echo(o, _rollback_line, log, kw["as_json"]))
    _finish(ctx, outcomes, kw["as_json"])


def _echo(outcome, line, log, as_json: bool) -> None:
    """One line per device as it finishes: results on stdout, failures as errors on stderr."""
    if outcome.ok:
        if not as_json:
            log.line(line(outcome.value))
    else:
        log.line(f"edgekit: error: {outcome.error}", err=True)


def _compact_deploy_line(r) -> str:
    """A fleet's line per device: what is active, what was sent, the median latency (--verbose: everything)."""
    line = f"ok   {r.device}: {r.sha256[:12]} active, " + \
        ("cached" if r.cached else f"sent {r.model_bytes_sent / 1e6:.2f} MB") + (", already current" * r.already_current)
    if r.result:
        line += f", p50 {r.result['timing_ms']['p50']:.3f} ms"
        line += " THROTTLED" if (r.result.get("device") or {}).get("throttled") else ""
        line += f" (run {r.run_id})"
    return line


def _deploy_line(r) -> str:
    sent = "cached, 0 model bytes sent" if r.cached else \
        f"sent {r.model_bytes_sent / 1e6:.2f} MB at {r.upload_mb_per_s:.1f} MB/s"
    if r.already_current:
        sent += ", already current: no load check, no switch"
    line = f"ok   {r.device} ({r.target}, {r.arch}): {r.sha256[:12]} active, {sent}"
    if r.result:
        t, rt = r.result["timing_ms"], r.result["runtime"]
        line += (f"; {rt['name']} {rt['version']}, {r.result['threads']} thread(s){_delegation(r.result)}: "
                 f"p50 {t['p50']:.3f} ms, p90 {t['p90']:.3f} ms over {t['runs']} runs"
                 f"{_device_state(r.result.get('device') or {})} (run {r.run_id})")
    return line + _checks(r.checks or {})


def _op_profile(result: dict | None) -> str:
    """The device's operator-wise table under its line (--op-profile), else nothing."""
    if not result or "op_profile" not in result:
        return ""
    from edgekit.results.op_profile import render_op_profile

    return "\n" + render_op_profile(result["op_profile"])


def _delegation(result: dict) -> str:
    """``, XNNPACK took 6/6 ops``, ``, no delegate took an op``, or nothing when the runtime does not say."""
    d = result.get("delegation") or {}
    if d.get("ops_delegated") is None:
        return ""
    if not d["applied"]:
        return ", no delegate took an op"
    return f", {'+'.join(d['applied'])} took {d['ops_delegated']}/{d['ops']} ops"


def _checks(checks: dict) -> str:
    """The output check's figures: the reference agreement of a compact file, device vs host accuracy."""
    parts = []
    ref = checks.get("reference")
    if ref:
        top1 = "" if ref["top1"] is None else f", top-1 agreement {100 * ref['top1']:.2f}%"
        parts.append(f"{'/'.join(ref['storage'])} matches its int8 reference ({ref['origin']}) on the device: "
                     f"max {ref['max_steps']:g} output steps{top1} over {ref['samples']} samples")
    ev = checks.get("eval")
    if ev:
        agreement = ev["agreement"]
        name, device = _headline(ev["device"])
        _, host = _headline(ev["host"])
        top1 = "" if agreement["top1"] is None else f", top-1 agreement {100 * agreement['top1']:.2f}%"
        parts.append(f"{name} on the device {device} vs host {host} (LiteRT){top1}, max {agreement['max_steps']:g} "
                     f"output step(s) apart, {ev['samples']} samples of {ev['data']}")
    return "".join(f"\n     {part}" for part in parts)


def _headline(metrics: dict) -> tuple[str, str]:
    """(metric name, formatted value) of the first output: accuracy in %, else mae."""
    head = next(iter(metrics["outputs"].values())) if "outputs" in metrics else metrics
    if head["task"] == "classification":
        return "accuracy", f"{100 * head['accuracy']:.2f}%"
    if head["task"] == "multilabel":
        return "binary accuracy", f"{100 * head['binary_accuracy']:.2f}%"
    return "mae", f"{head['mae']:.4g}"


def _device_state(device: dict) -> str:
    """Governor, temperature before->after and a THROTTLED mark, where the device reports them (a Pi)."""
    before, after = device.get("before") or {}, device.get("after") or {}
    parts = []
    if after.get("governor"):
        parts.append(f"governor {after['governor']}")
    if before.get("temp_c") is not None and after.get("temp_c") is not None:
        parts.append(f"{before['temp_c']:.1f}->{after['temp_c']:.1f} C")
    if device.get("throttled"):
        parts.append("THROTTLED (" + ", ".join(device.get("throttle_reasons") or []) + ")")
    return f", {', '.join(parts)}" if parts else ""


def _short(link: str | None) -> str:
    """``models/<sha256>.tflite`` -> the first 12 hex digits."""
    return link.rsplit("/", 1)[-1][:12] if link else "-"


def _rollback_line(r) -> str:
    return f"ok   {r.device}: {_short(r.current)} active again, previous {_short(r.previous)}"
