"""``edgekit targets list|show NAME``: the device profiles edgekit knows, and where each came from."""

from __future__ import annotations

import click

from edgekit.cli.output import emit_json, info, json_option

targets_dir_option = click.option(
    "--targets-dir", "targets_dirs", multiple=True, type=click.Path(file_okay=False),
    help="Folder of your own profiles (*.toml), layered over the others (repeatable); "
         "see also $EDGEKIT_TARGETS and ~/.config/edgekit/targets.")


@click.group()
def targets() -> None:
    """List and show device profiles (bundled, ~/.config/edgekit/targets, ./targets, $EDGEKIT_TARGETS)."""


@targets.command("list")
@targets_dir_option
@json_option
def list_cmd(targets_dirs: tuple[str, ...], as_json: bool) -> None:
    """One line per target: name, arch, CPU, cores, RAM, delegate, origin."""
    from edgekit.targets import list_targets

    profiles = list_targets(targets_dirs)
    for t in profiles:
        if t.note:
            info(f"note: {t.name} from {t.path} {t.note}")
    if as_json:
        emit_json([t.to_dict() for t in profiles])
        return
    click.echo(f"{'NAME':<16} {'ARCH':<8} {'CPU':<11} {'CORES':>5} {'RAM':>8}  {'DELEGATE':<16} {'ORIGIN':<8} DESCRIPTION")
    for t in profiles:
        ram = f"{t.ram_mb} MB" if t.ram_mb else "-"
        cores = str(t.cores) if t.cores else "-"
        delegate = t.delegate.library if t.delegate else "-"
        click.echo(f"{t.name:<16} {t.arch:<8} {t.cpu:<11} {cores:>5} {ram:>8}  {delegate:<16} {t.origin:<8} "
                   f"{t.description}")


@targets.command("show")
@click.argument("name")
@targets_dir_option
@json_option
def show_cmd(name: str, targets_dirs: tuple[str, ...], as_json: bool) -> None:
    """Every field of target NAME, and the file it came from."""
    from edgekit.targets import load_target

    target = load_target(name, targets_dirs)
    if as_json:
        emit_json(target.to_dict())
        return
    fields = target.to_dict()
    replaced = target.overrides
    fields["overrides"] = f"{replaced.origin} {replaced.name} ({replaced.path})" if replaced else None
    for key, value in fields.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value)
        click.echo(f"{key + ':':<16} {value if value is not None else '-'}")
