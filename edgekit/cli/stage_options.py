"""Command-line flags of every registered optimize stage, made from the stage registry.

A stage declares its flags once (:class:`edgekit.optimize.stages.Option`); this module
turns them into click options and hands the given ones back as ``{flag: value}`` for
:func:`edgekit.optimize.stages.steps_from_flags`. Defaults shown in ``--help`` come from
the stage's config dataclass, so they cannot drift from what runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import click

_PREFIX = "stage__"


def stage_options(*names: str) -> Callable[[Callable], Callable]:
    """A decorator adding the flags of the stages ``names`` (default: every stage) to a command;
    they arrive as ``stage__*`` keyword arguments."""
    from edgekit.optimize.stages import stages

    def decorate(command: Callable) -> Callable:
        for stage in reversed([s for s in stages() if not names or s.name in names]):
            defaults = {f.name: f.default for f in dataclasses.fields(stage.config)}
            for flag, option in reversed(stage.flags().items()):
                command = _click_option(flag, option, defaults.get(option.field, dataclasses.MISSING))(command)
        return command

    return decorate


def given_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the ``stage__*`` arguments from ``kwargs``: ``{flag: value}`` of the flags the user gave."""
    from edgekit.optimize.stages import stages

    flags = {_param(flag): flag for s in stages() for flag in s.flags()}
    return {flags[name]: kwargs.pop(name) for name in list(kwargs) if name.startswith(_PREFIX)}


def _click_option(flag: str, option, default) -> Callable:
    if option.type is bool:
        return click.option(flag, _param(flag), is_flag=True, help=option.help)
    hidden = option.enables or default in (dataclasses.MISSING, None)
    kind = click.Choice(option.choices, case_sensitive=False) if option.choices else option.type
    return click.option(flag, _param(flag), type=kind, metavar=option.metavar, multiple=option.multiple,
                        default=None, help=option.help + ("" if hidden else f" [default: {default}]"))


def _param(flag: str) -> str:
    return _PREFIX + flag.lstrip("-").replace("-", "_")
