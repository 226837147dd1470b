"""Which devices a request means: the one place that turns names, addresses and targets into :class:`Device`.

``edgekit deploy``/``rollback`` take several flags (:func:`resolve_devices`); ``edgekit build``
(and every later command that measures on one device) takes one ``[target] device`` string
(:func:`resolve_device`). Both live here so the two never disagree on what a name means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from edgekit.errors import UsageError
from edgekit.remote.inventory import Device, inventory_path, load_inventory, select_devices


def resolve_devices(*, hosts: Sequence[str] = (), names: Sequence[str] = (), groups: Sequence[str] = (),
                    target: str | None = None, inventory: Path | None = None, remote_python: str | None = None,
                    remote_dir: str | None = None) -> list[Device]:
    """``hosts`` as given, plus inventory devices by name/group, or all of ``target``'s when nothing else is named.

    ``inventory`` defaults to :func:`~edgekit.remote.inventory.inventory_path`. ``target``,
    ``remote_python`` and ``remote_dir`` override every chosen device's own values (flags
    win over inventory keys). UsageError when the request names no device at all.
    """
    chosen = [Device(name=h, host=h, target=target) for h in hosts]
    if names or groups or (target and not hosts):
        source = inventory or inventory_path()
        chosen += select_devices(load_inventory(source), names=tuple(names), groups=tuple(groups), target=target,
                                 source=source)
    if not chosen:
        raise UsageError("no device given: pass --host [user@]host[:port], --device NAME, --group G, "
                         "or --target T with devices registered for T in an inventory")
    return [d.with_overrides(target=target, remote_python=remote_python, remote_dir=remote_dir) for d in chosen]


def resolve_device(spec: str, *, target: str | None = None, inventory: Path | None = None,
                   devices: Sequence[Device] = ()) -> Device:
    """``spec`` as the name of one of ``devices`` (e.g. the build's edgekit.toml's), of ``inventory``, then
    of the default inventory; otherwise an address ``[user@]host[:port]`` or ssh_config alias for a
    ``target`` device.

    A name wins over an address so one edgekit.toml can say ``device = "kitchen-pi"``.
    """
    for device in [*devices, *(load_inventory(inventory) if inventory else ()), *load_inventory()]:
        if device.name == spec:
            return device
    return Device(name=spec, host=spec, target=target)


__all__ = ["resolve_device", "resolve_devices"]
