"""Device profiles: what a target board is (arch, cores, RAM) and what it can run.

One TOML file per target in the bundled ``targets/`` folder (see
:func:`edgekit.resources.targets_dir`). A bad profile is a :class:`ConfigError` that names
the file and the key, so a user editing a profile knows exactly what to fix.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.agent.edgekit_agent import DEFAULT_RUNTIMES
from edgekit.convert import IO_TYPES, QUANTIZE_MODES
from edgekit.errors import ConfigError, UsageError
from edgekit.resources import targets_dir
from edgekit.vocab import STORAGE_CAPABILITIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HOST_ARCH = "host"  # a profile's arch that means "whatever this machine is" (the local target)


@dataclass(frozen=True)
class Delegate:
    """A TFLite delegate the target runs models through, and what it demands of them."""

    library: str
    requires_full_int8: bool = False
    io_types: tuple[str, ...] = IO_TYPES


@dataclass(frozen=True)
class Target:
    """One device profile (``targets/<name>.toml``)."""

    name: str
    description: str
    arch: str
    cpu: str
    cores: int
    default_threads: int
    ram_mb: int
    runtimes: tuple[str, ...]
    quantizations: tuple[str, ...]
    delegate: Delegate | None = None
    storage: tuple[str, ...] = ("int8",)   # weight storage forms its runtime runs correctly (vocab)
    path: Path | None = field(default=None, compare=False)

    def expected_arch(self) -> str:
        """The ``uname -m`` a device of this target must report."""
        return platform.machine() if self.arch == HOST_ARCH else self.arch

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "arch": self.arch, "cpu": self.cpu,
                "cores": self.cores, "default_threads": self.default_threads, "ram_mb": self.ram_mb,
                "runtimes": list(self.runtimes), "quantizations": list(self.quantizations),
                "storage": list(self.storage),
                "delegate": None if self.delegate is None else {
                    "library": self.delegate.library, "requires_full_int8": self.delegate.requires_full_int8,
                    "io_types": list(self.delegate.io_types)},
                "path": str(self.path) if self.path else None}


def list_targets(directory: Path | None = None) -> list[Target]:
    """Every bundled profile, sorted by name."""
    folder = directory or targets_dir()
    return [_load_file(path) for path in sorted(folder.glob("*.toml"))]


def load_target(name: str, directory: Path | None = None) -> Target:
    """The profile called ``name``; UsageError listing the known ones if there is none."""
    folder = directory or targets_dir()
    path = folder / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml")))
        raise UsageError(f"unknown target '{name}'; known targets: {known}")
    return _load_file(path)


def _load_file(path: Path) -> Target:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    reader = _Fields(path, data)
    target = Target(
        name=reader.string("name"), description=reader.string("description"), arch=reader.string("arch"),
        cpu=reader.string("cpu"), cores=reader.integer("cores"), default_threads=reader.integer("default_threads", 1),
        ram_mb=reader.integer("ram_mb"), runtimes=reader.choices("runtimes", DEFAULT_RUNTIMES),
        quantizations=reader.choices("quantizations", QUANTIZE_MODES), delegate=_delegate(path, data.get("delegate")),
        storage=reader.choices("storage", STORAGE_CAPABILITIES, default=("int8",)), path=path)
    if target.name != path.stem:
        raise ConfigError(f"{path}: key 'name' is '{target.name}' but the file is {path.name}; make them agree")
    unknown = set(data) - {"name", "description", "arch", "cpu", "cores", "default_threads", "ram_mb", "runtimes",
                           "quantizations", "delegate", "storage"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    return target


def _delegate(path: Path, data: Any) -> Delegate | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: key 'delegate' must be a table ([delegate])")
    reader = _Fields(path, data, prefix="delegate.")
    return Delegate(library=reader.string("library"), requires_full_int8=reader.boolean("requires_full_int8", False),
                    io_types=reader.choices("io_types", IO_TYPES, default=IO_TYPES))


class _Fields:
    """Typed access to a profile's keys; every error names the file and the key."""

    def __init__(self, path: Path, data: dict, prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is not None:
            return default
        raise ConfigError(f"{self.path}: missing key '{self.prefix}{key}'")

    def _fail(self, key: str, wanted: str) -> ConfigError:
        return ConfigError(f"{self.path}: key '{self.prefix}{key}' must be {wanted}, "
                           f"found {self.data.get(key)!r}")

    def string(self, key: str) -> str:
        value = self._get(key, None)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "an integer >= 0")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def choices(self, key: str, allowed: tuple[str, ...], default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = self._get(key, default)
        if not isinstance(value, (list, tuple)) or not value or any(v not in allowed for v in value):
            raise self._fail(key, f"a non-empty list of {', '.join(allowed)}")
        return tuple(value)
