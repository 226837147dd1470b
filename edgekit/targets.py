"""Device profiles: what a target board is (arch, cores, RAM) and what it can run.

One TOML file per target. The bundled ones (:func:`edgekit.resources.targets_dir`) are
layered under the user's own, lowest first: ``$XDG_CONFIG_HOME/edgekit/targets`` (default
``~/.config/edgekit/targets``), ``./targets`` of the edgekit.toml project in the current
directory, the folders of ``$EDGEKIT_TARGETS`` (``:``-separated), then ``--targets-dir``.
A profile of the same name in a higher layer replaces the lower one, and says so
(:attr:`Target.overrides`). A bad profile is a :class:`ConfigError` that names the file
and the key, so a user editing a profile knows exactly what to fix.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

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
TARGETS_ENV = "EDGEKIT_TARGETS"


@dataclass(frozen=True)
class Delegate:
    """A TFLite delegate the target runs models through, and what it demands of them."""

    library: str
    requires_full_int8: bool = False
    io_types: tuple[str, ...] = IO_TYPES
    compiled_op: str | None = None   # the custom op a model compiled for it runs in (Edge TPU: edgetpu-custom-op)
    compiler: str | None = None      # the program that compiles a full-int8 model into that op


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
    keep_models: int | None = None   # models a deploy keeps on the device (None: the inventory's, else 5)
    path: Path | None = field(default=None, compare=False)
    origin: str = field(default="bundled", compare=False)       # the layer it came from (ProfileDir.origin)
    overrides: "Target | None" = field(default=None, compare=False)  # the profile of that name it replaces

    @property
    def note(self) -> str | None:
        """``overrides bundled rpi4 (/path/rpi4.toml)`` when this profile replaces another."""
        if self.overrides is None:
            return None
        return f"overrides {self.overrides.origin} {self.overrides.name} ({self.overrides.path})"

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
                    "io_types": list(self.delegate.io_types), "compiled_op": self.delegate.compiled_op,
                    "compiler": self.delegate.compiler},
                "keep_models": self.keep_models,
                "path": str(self.path) if self.path else None, "origin": self.origin,
                "overrides": None if self.overrides is None else {
                    "origin": self.overrides.origin, "path": str(self.overrides.path)}}


@dataclass(frozen=True)
class ProfileDir:
    """One layer of profiles: where it is and what to call it in messages."""

    origin: str   # "bundled", "user", "project", "EDGEKIT_TARGETS" or "--targets-dir"
    path: Path


def profile_dirs(extra_dirs: Sequence[str | Path] = (), cwd: Path | None = None) -> list[ProfileDir]:
    """The layers of profiles, lowest precedence first (see the module docstring).

    The user and project folders are used when they exist; a folder named in
    ``$EDGEKIT_TARGETS`` or ``extra_dirs`` must exist (UsageError otherwise).
    """
    cwd = cwd or Path.cwd()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    layers = [ProfileDir("bundled", targets_dir())]
    layers += [ProfileDir(origin, path) for origin, path in (
        ("user", Path(config_home) / "edgekit" / "targets"),
        ("project", cwd / "targets" if (cwd / "edgekit.toml").is_file() else None)) if path and path.is_dir()]
    named = [(TARGETS_ENV, Path(p)) for p in os.environ.get(TARGETS_ENV, "").split(os.pathsep) if p]
    named += [("--targets-dir", Path(p)) for p in extra_dirs]
    for origin, path in named:
        if not path.is_dir():
            raise UsageError(f"{origin}: {path} is not a directory of target profiles (*.toml)")
        layers.append(ProfileDir(origin, path))
    seen: set[Path] = set()
    unique = []
    for layer in layers:  # a folder listed twice (or a link to the bundled one) is one layer
        if layer.path.resolve() not in seen:
            seen.add(layer.path.resolve())
            unique.append(layer)
    return unique


def list_targets(extra_dirs: Sequence[str | Path] = ()) -> list[Target]:
    """Every profile of every layer, sorted by name; a higher layer's replaces a lower one's."""
    found: dict[str, Target] = {}
    for layer in profile_dirs(extra_dirs):
        for path in sorted(layer.path.glob("*.toml")):
            target = replace(_load_file(path), origin=layer.origin, overrides=found.get(path.stem))
            found[path.stem] = target
    return [found[name] for name in sorted(found)]


def load_target(name: str, extra_dirs: Sequence[str | Path] = ()) -> Target:
    """The profile called ``name``; UsageError listing the known ones if there is none."""
    layers = profile_dirs(extra_dirs)
    target = None
    for layer in layers:
        path = layer.path / f"{name}.toml"
        if path.is_file():
            target = replace(_load_file(path), origin=layer.origin, overrides=target)
    if target is None:
        known = ", ".join(sorted({p.stem for layer in layers for p in layer.path.glob("*.toml")}))
        raise UsageError(f"unknown target '{name}'; known targets: {known}")
    return target


def _load_file(path: Path) -> Target:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read a target profile: {exc.strerror or exc}; a profile is a "
                          "<name>.toml file") from None
    reader = _Fields(path, data)
    target = Target(
        name=reader.string("name"), description=reader.string("description"), arch=reader.string("arch"),
        cpu=reader.string("cpu"), cores=reader.integer("cores"), default_threads=reader.integer("default_threads", 1),
        ram_mb=reader.integer("ram_mb"), runtimes=reader.choices("runtimes", DEFAULT_RUNTIMES),
        quantizations=reader.choices("quantizations", QUANTIZE_MODES), delegate=_delegate(path, data.get("delegate")),
        storage=reader.choices("storage", STORAGE_CAPABILITIES, default=("int8",)),
        keep_models=reader.integer("keep_models", None) if "keep_models" in data else None, path=path)
    if target.keep_models == 0:
        raise ConfigError(f"{path}: key 'keep_models' must be at least 1 (current and previous are always kept)")
    if target.name != path.stem:
        raise ConfigError(f"{path}: key 'name' is '{target.name}' but the file is {path.name}; make them agree")
    unknown = set(data) - {"name", "description", "arch", "cpu", "cores", "default_threads", "ram_mb", "runtimes",
                           "quantizations", "delegate", "storage", "keep_models"}
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
                    io_types=reader.choices("io_types", IO_TYPES, default=IO_TYPES),
                    compiled_op=reader.optional_string("compiled_op"), compiler=reader.optional_string("compiler"))


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

    def optional_string(self, key: str) -> str | None:
        return None if self._get(key, None) is None else self.string(key)

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
