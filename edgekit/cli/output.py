"""Shared CLI conventions: ``--json`` to stdout, human messages and progress to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from edgekit.console import info  # the one stderr writer, shared with the library's progress lines

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (the only thing a ``--json`` command writes there)."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=_jsonable))


def warn(message: str | None) -> None:
    """``edgekit: warning: MESSAGE`` on stderr, one line (nothing for None): a result written but worth a look."""
    if message:
        info(f"edgekit: warning: {message}")


def _jsonable(value: Any) -> Any:
    """Make numpy scalars/arrays and paths serialisable."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


__all__ = ["emit_json", "info", "json_option", "stderr_is_tty", "warn"]
