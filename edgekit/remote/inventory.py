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
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from edgekit.errors import ConfigError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_PYTHON = "python3"
DEFAULT_REMOTE_DIR = "~/.edgekit"
_KEYS = {"host", "target", "groups", "remote_python", "remote_dir", "keep_models"}


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


def inventory_path(project_dir: Path | None = None) -> Path | None:
    """``./edgekit.toml`` if it has devices, else the user's inventory.toml if it exists."""
    project = (project_dir or Path.cwd()) / "edgekit.toml"
    if project.is_file() and "devices" in _read(project):
        return project
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = config_home / "edgekit" / "inventory.toml"
    return user if user.is_file() else None


def load_inventory(path: Path | None = None) -> list[Device]:
    """The devices of ``path`` (default: :func:`inventory_path`); [] when there is none."""
    path = path or inventory_path()
    if path is None:
        return []
    tables = _read(path).get("devices", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: 'devices' must be a table of [devices.NAME] tables")
    return [_device(path, name, table) for name, table in tables.items()]


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


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _device(path: Path, name: str, table: object) -> Device:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: devices.{name} must be a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{path}: devices.{name}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(_KEYS))}")
    for key in ("host", "target", "remote_python", "remote_dir"):
        if key in table and (not isinstance(table[key], str) or not table[key]):
            raise ConfigError(f"{path}: devices.{name}.{key} must be a non-empty string")
    if "host" not in table:
        raise ConfigError(f"{path}: devices.{name}: missing key 'host'")
    groups = table.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ConfigError(f"{path}: devices.{name}.groups must be a list of strings")
    keep = table.get("keep_models")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise ConfigError(f"{path}: devices.{name}.keep_models must be a whole number of at least 1")
    return Device(name=name, host=table["host"], target=table.get("target"), groups=tuple(groups),
                  remote_python=table.get("remote_python", DEFAULT_PYTHON),
                  remote_dir=table.get("remote_dir", DEFAULT_REMOTE_DIR), keep_models=keep)
