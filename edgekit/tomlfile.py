"""The TOML files edgekit reads (edgekit.toml, inventories, target profiles), parsed once each.

Each owner reads its tables through :class:`Table`, so a wrong key or value is one line,
``FILE:LINE: [table] key: expected X, got Y``, whoever owns the table. ``tomllib`` gives the
line of a syntax error but not where a value sits, so :func:`find_line` finds a key by
scanning the text for it inside its table.
"""

from __future__ import annotations

import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from edgekit.errors import ConfigError, first_line
from edgekit.textfile import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED: Any = object()   # Table.get's default for a key that must be there
_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True)
class TomlFile:
    """A parsed TOML file with its text, so every later error can name a line of it."""

    path: Path
    text: str = field(repr=False)
    data: dict = field(repr=False)

    def where(self, table: str | None = None, key: str | None = None, index: int = 0) -> str:
        """``FILE:LINE``, the line being ``key``'s in ``[table]`` (or the table's header); ``FILE`` if neither is found."""
        line = find_line(self.text, table, key, index)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, message: str, table: str | None = None, key: str | None = None, index: int = 0) -> ConfigError:
        """``FILE:LINE: message`` (see :meth:`where`)."""
        return ConfigError(f"{self.where(table, key, index)}: {message}")

    def table(self, name: str | None, data: Any = REQUIRED, index: int = 0, prefix: str | None = None) -> "Table":
        """Typed access to table ``name`` (None: the top level; ``data``: its value if not ``data[name]``)."""
        if data is REQUIRED:
            data = self.data if name is None else self.data.get(name, {})
        return Table(self, name, data, index, prefix)


def load_toml(path: str | Path, what: str, hint: str = "") -> TomlFile:
    """Read and parse ``path``; every failure is a ConfigError naming it (see :func:`read_text`)."""
    return parse_toml(read_text(path, what, hint), Path(path))


def parse_toml(text: str, path: Path) -> TomlFile:
    """``text`` parsed as the TOML file ``path``."""
    try:
        return TomlFile(path, text, tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _AT.search(message)
        if at:
            raise ConfigError(f"{path}:{at.group(1)}: not valid TOML: {message[:at.start()]} "
                              f"(column {at.group(2)})") from None
        raise ConfigError(f"{path}: not valid TOML: {first_line(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None
    except ValueError as exc:  # an integer beyond int()'s digit limit
        raise ConfigError(f"{path}: not valid TOML: a value Python cannot hold ({first_line(exc)[:60]})") from None


class Table:
    """One table's keys read with their types checked; every error names the file, line, table and key."""

    def __init__(self, file: TomlFile, name: str | None, data: Any, index: int = 0, prefix: str | None = None):
        self.file, self.name, self.index = file, name, index
        self.prefix = prefix if prefix is not None else f"[{name}] " if name else ""
        if not isinstance(data, dict):  # a value where the table should be: its key's line in the parent
            parent, _, key = (name or "").rpartition(".")
            raise file.error(f"{name} must be a table: write [{name}]", parent or None, key, index)
        self.data = data

    def fail(self, key: str | None, message: str) -> ConfigError:
        """A ConfigError at ``key``'s line (the table's header if ``key`` is None or absent)."""
        return self.file.error(message, self.name, key, self.index)

    def known(self, keys: Iterable[str], what: str | None = None) -> None:
        """Every key of the table is one of ``keys``."""
        keys = list(keys)
        for key in self.data:
            if key not in keys:
                where = f" in {what or self.prefix.strip()}" if what or self.prefix else ""
                raise self.fail(key, f"unknown key '{key}'{where} (known: {', '.join(keys)})")

    def get(self, key: str, kind: Any, default: Any = REQUIRED, *, choices: Iterable[str] | None = None,
            minimum: float | None = None, nonempty: bool = False) -> Any:
        """The value of ``key``, checked to be a ``kind`` (an annotation: ``int``, ``str | None``,
        ``list[str]``, ...); ``choices``: the strings it (or each element) may be; ``minimum``: for numbers;
        ``nonempty``: for strings and lists. ``default`` when the key is absent (REQUIRED: it must be there)."""
        if key not in self.data:
            if default is REQUIRED:
                raise self.fail(None, f"missing key '{key}'" + (f" in {self.prefix.strip()}" if self.prefix else ""))
            return default
        value = self.data[key]
        wanted = type_error(value, kind)
        allowed = tuple(choices) if choices is not None else None
        if wanted is None and value is not None:
            items = value if isinstance(value, list) else [value]
            if allowed is not None and any(item not in allowed for item in items):
                wanted = f"one of {', '.join(allowed)}" if not isinstance(value, list) else \
                    f"a list of {', '.join(allowed)}"
            elif nonempty and not value:
                wanted = "a non-empty " + ("list" if isinstance(value, list) else "string")
            elif minimum is not None and value < minimum:
                wanted = f"{type_error(None, kind)} >= {minimum:g}"
        if wanted is not None:
            raise self.fail(key, f"{self.prefix}{key}: expected {wanted}, got {describe(value)}")
        return value

    def section(self, cls: type) -> Any:
        """The dataclass ``cls`` from this table: its fields are the keys, their annotations the types."""
        hints = typing.get_type_hints(cls)
        self.known(hints)
        return cls(**{key: self.get(key, hints[key]) for key in self.data})


def type_error(value: Any, annotation: Any) -> str | None:
    """What ``value`` should have been, or None when it fits ``annotation`` (``value`` None: the description)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    options = [a for a in typing.get_args(annotation) if a is not type(None)] if union else [annotation]
    if value is not None and any(_fits(value, option) for option in options):
        return None
    return " or ".join(_name(option) for option in options)


def _fits(value: Any, option: Any) -> bool:
    origin = typing.get_origin(option) or option
    if option is Any:
        return True
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    if origin is str:
        return isinstance(value, str)
    if origin in (tuple, list):
        element = next((a for a in typing.get_args(option) if a is not Ellipsis), Any)
        return isinstance(value, list) and all(_fits(item, element) for item in value)
    return origin is dict and isinstance(value, dict)


def _name(option: Any) -> str:
    origin = typing.get_origin(option) or option
    element = next((a for a in typing.get_args(option) if a is not Ellipsis), None)
    if origin in (tuple, list) and element not in (None, Any):
        return f"a list of {_name(element).split(' ', 1)[1]}s"
    return _TYPE_NAMES.get(origin, str(option))


_TYPE_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string",
               tuple: "a list", list: "a list", dict: "a table"}


def describe(value: Any) -> str:
    """``string 'x'``, ``integer 3``, ``list ['a']``, ``table``: a value as a one-line message shows it."""
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)
    if isinstance(value, dict):
        return kind
    shown = repr(value)
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def find_line(text: str, table: str | None, key: str | None = None, index: int = 0) -> int | None:
    """1-based line of ``key`` in ``[table]`` (the ``index``-th ``[[table]]``; None: the top level), or of
    the table's header when the key is not found."""
    key_rx = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=") if key else None
    current, seen, header_line = None, 0 if table is None else -1, None
    for number, line in enumerate(text.split("\n"), 1):  # TOML's lines; str.splitlines() splits on more
        match = _HEADER.match(line)
        if match:
            current = ".".join(part.strip().strip("\"'") for part in match.group(1).split("."))
            if current == table:
                seen += 1
                if seen == index:
                    header_line = number
            continue
        if key_rx and current == table and seen == index and key_rx.match(line):
            return number
    return header_line
