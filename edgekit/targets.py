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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from edgekit.agent.edgekit_agent import DEFAULT_RUNTIMES
from edgekit.convert import IO_TYPES, QUANTIZE_MODES
from edgekit.errors import UsageError
from edgekit.resources import targets_dir
from edgekit.tomlfile import Table, load_toml
from edgekit.vocab import STORAGE_CAPABILITIES

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
        for path in _profiles(layer):
            found[path.stem] = replace(_load_file(path), origin=layer.origin, overrides=found.get(path.stem))
    return [found[name] for name in sorted(found)]


def load_target(name: str, extra_dirs: Sequence[str | Path] = ()) -> Target:
    """The profile called ``name``; UsageError listing the known ones if there is none."""
    layers = profile_dirs(extra_dirs)
    target = None
    for layer in layers:
        path = layer.path / f"{name}.toml"
        if path in _profiles(layer):
            target = replace(_load_file(path), origin=layer.origin, overrides=target)
    if target is None:
        known = ", ".join(sorted({p.stem for layer in layers for p in _profiles(layer)}))
        raise UsageError(f"unknown target '{name}'; known targets: {known}")
    return target


def _profiles(layer: ProfileDir) -> list[Path]:
    """The layer's profiles: every ``*.toml`` entry, so a listing and a lookup by name see the same ones
    (an entry that is not a readable file is an error naming it in both)."""
    return sorted(layer.path.glob("*.toml"))


_KEYS = ("name", "description", "arch", "cpu", "cores", "default_threads", "ram_mb", "runtimes", "quantizations",
         "delegate", "storage", "keep_models")


def _load_file(path: Path) -> Target:
    profile = load_toml(path, "a target profile", "a profile is a <name>.toml file")
    table = profile.table(None)
    table.known(_KEYS)
    text = lambda key: table.get(key, str, nonempty=True)  # noqa: E731
    target = Target(
        name=text("name"), description=text("description"), arch=text("arch"), cpu=text("cpu"),
        cores=table.get("cores", int, minimum=0), default_threads=table.get("default_threads", int, 1, minimum=0),
        ram_mb=table.get("ram_mb", int, minimum=0),
        runtimes=tuple(table.get("runtimes", list[str], choices=DEFAULT_RUNTIMES, nonempty=True)),
        quantizations=tuple(table.get("quantizations", list[str], choices=QUANTIZE_MODES, nonempty=True)),
        delegate=_delegate(profile.table("delegate")) if "delegate" in profile.data else None,
        storage=tuple(table.get("storage", list[str], ["int8"], choices=STORAGE_CAPABILITIES, nonempty=True)),
        keep_models=table.get("keep_models", int, None, minimum=0), path=path)
    if target.keep_models == 0:
        raise table.fail("keep_models", "key 'keep_models' must be at least 1 (current and previous are always kept)")
    if target.name != path.stem:
        raise table.fail("name", f"key 'name' is '{target.name}' but the file is {path.name}; make them agree")
    return target


def _delegate(table: Table) -> Delegate:
    table.known(("library", "requires_full_int8", "io_types", "compiled_op", "compiler"))
    return Delegate(library=table.get("library", str, nonempty=True),
                    requires_full_int8=table.get("requires_full_int8", bool, False),
                    io_types=tuple(table.get("io_types", list[str], list(IO_TYPES), choices=IO_TYPES, nonempty=True)),
                    compiled_op=table.get("compiled_op", str, None, nonempty=True),
                    compiler=table.get("compiler", str, None, nonempty=True))
