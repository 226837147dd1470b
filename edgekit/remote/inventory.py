"""Named devices: which host is which target, grouped, with their Python and edgekit dir.

Read from ``edgekit.toml`` in the current project (its ``[devices.NAME]`` tables), else
from ``$XDG_CONFIG_HOME/edgekit/inventory.toml`` (``~/.config``)::

    [devices.kitchen-pi]
    host = "pi@192.168.1.40"          # [user@]host[:port] or an ~/.ssh/config alias
    target = "rpi4"
    groups = ["lab", "pis"]
    remote_python = "/home/pi/venv/bin/python"   # default python3
    remote_dir = "~/.edgekit"                    # default ~/.edgekit
    keep_models = 5                              # models kept on the device (default: the target's, else 5)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgekit.errors import UsageError
from edgekit.tomlfile import TomlFile, load_toml

DEFAULT_PYTHON = "python3"
DEFAULT_REMOTE_DIR = "~/.edgekit"


@dataclass(frozen=True)
class Device:
    """One device to deploy to."""

    name: str
    host: str                                   # [user@]host[:port] or ssh config alias
    target: str | None = None
    groups: tuple[str, ...] = ()
    remote_python: str = DEFAULT_PYTHON
    remote_dir: str = DEFAULT_REMOTE_DIR
    keep_models: int | None = None              # None: the target's keep_models, else 5

    def with_overrides(self, *, target: str | None = None, remote_python: str | None = None,
                       remote_dir: str | None = None) -> "Device":
        """Command-line flags win over inventory keys."""
        return replace(self, target=target or self.target, remote_python=remote_python or self.remote_python,
                       remote_dir=remote_dir or self.remote_dir)

    def to_table(self) -> dict[str, Any]:
        """The ``[devices.NAME]`` table that reads back as this device (keys at their default left out)."""
        table = {"host": self.host, "target": self.target, "groups": list(self.groups) or None,
                 "remote_python": self.remote_python, "remote_dir": self.remote_dir, "keep_models": self.keep_models}
        defaults = {"remote_python": DEFAULT_PYTHON, "remote_dir": DEFAULT_REMOTE_DIR}
        return {key: value for key, value in table.items() if value is not None and defaults.get(key) != value}


def inventory_path(project_dir: Path | None = None) -> Path | None:
    """``./edgekit.toml`` if it has devices, else the user's inventory.toml if it exists."""
    project = (project_dir or Path.cwd()) / "edgekit.toml"
    if project.is_file() and "devices" in _read(project).data:
        return project
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = config_home / "edgekit" / "inventory.toml"
    return user if user.is_file() else None


def load_inventory(path: Path | None = None) -> list[Device]:
    """The devices of ``path`` (default: :func:`inventory_path`); [] when there is none."""
    path = path or inventory_path()
    return [] if path is None else devices_of(_read(path))


def devices_of(file: TomlFile) -> list[Device]:
    """The ``[devices.NAME]`` tables of a parsed inventory or edgekit.toml."""
    tables = file.table("devices")
    return [_device(file, name, table) for name, table in tables.data.items()]


def select_devices(devices: list[Device], *, names: tuple[str, ...] = (), groups: tuple[str, ...] = (),
                   target: str | None = None, source: Path | None = None) -> list[Device]:
    """Devices named in ``names`` or in one of ``groups``; if neither is given, all of ``target``."""
    where = str(source) if source else "no inventory (edgekit.toml or ~/.config/edgekit/inventory.toml)"
    by_name = {d.name: d for d in devices}
    chosen: dict[str, Device] = {}
    for name in names:
        if name not in by_name:
            raise UsageError(f"--device {name}: not in {where}; known: {', '.join(by_name) or 'none'}")
        chosen[name] = by_name[name]
    for group in groups:
        members = [d for d in devices if group in d.groups]
        if not members:
            raise UsageError(f"--group {group}: no device of {where} is in that group")
        chosen.update((d.name, d) for d in members)
    if not names and not groups and target:
        chosen.update((d.name, d) for d in devices if d.target == target)
        if not chosen:
            raise UsageError(f"--target {target}: no device registered for it in {where}; "
                             "pass --host [user@]host[:port] or add a [devices.NAME] table")
    return list(chosen.values())


def _read(path: Path) -> TomlFile:
    return load_toml(path, "the inventory")


def _device(file: TomlFile, name: str, data: object) -> Device:
    table = file.table(f"devices.{name}", data)
    table.known(("host", "target", "groups", "remote_python", "remote_dir", "keep_models"))
    return Device(name=name, host=table.get("host", str, nonempty=True),
                  target=table.get("target", str, None, nonempty=True),
                  groups=tuple(table.get("groups", list[str], [])),
                  remote_python=table.get("remote_python", str, DEFAULT_PYTHON, nonempty=True),
                  remote_dir=table.get("remote_dir", str, DEFAULT_REMOTE_DIR, nonempty=True),
                  keep_models=table.get("keep_models", int, None, minimum=1))
