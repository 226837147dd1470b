"""``edgekit targets list|show NAME``: the device profiles edgekit knows."""

from __future__ import annotations

import click

from edgekit.cli.output import emit_json, json_option


@click.group()
def targets() -> None:
    """List and show device profiles (targets/*.toml)."""


@targets.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """One line per target: name, arch, CPU, cores, RAM, delegate."""
    from edgekit.targets import list_targets

    profiles = list_targets()
    if as_json:
        emit_json([t.to_dict() for t in profiles])
        return
    click.echo(f"{'NAME':<16} {'ARCH':<8} {'CPU':<11} {'CORES':>5} {'RAM':>8}  {'DELEGATE':<16} DESCRIPTION")
    for t in profiles:
        ram = f"{t.ram_mb} MB" if t.ram_mb else "-"
        cores = str(t.cores) if t.cores else "-"
        delegate = t.delegate.library if t.delegate else "-"
        click.echo(f"{t.name:<16} {t.arch:<8} {t.cpu:<11} {cores:>5} {ram:>8}  {delegate:<16} {t.description}")


@targets.command("show")
@click.argument("name")
@json_option
def show_cmd(name: str, as_json: bool) -> None:
    """Every field of target NAME."""
    from edgekit.targets import load_target

    target = load_target(name)
    if as_json:
        emit_json(target.to_dict())
        return
    for key, value in target.to_dict().items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value)
        click.echo(f"{key + ':':<16} {value if value is not None else '-'}")
