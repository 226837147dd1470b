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


def stage_options(command: Callable) -> Callable:
    """Add every stage's flags to ``command``; they arrive as ``stage__*`` keyword arguments."""
    from edgekit.optimize.stages import stages

    for stage in reversed(stages()):
        defaults = {f.name: f.default for f in dataclasses.fields(stage.config)}
        for option in reversed(stage.options):
            command = _click_option(option, defaults.get(option.field, dataclasses.MISSING))(command)
    return command


def given_flags(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the ``stage__*`` arguments from ``kwargs``: ``{flag: value}`` of the flags the user gave."""
    from edgekit.optimize.stages import stages

    flags = {_param(o.flag): o.flag for s in stages() for o in s.options}
    return {flags[name]: kwargs.pop(name) for name in list(kwargs) if name.startswith(_PREFIX)}


def _click_option(option, default) -> Callable:
    if option.type is bool:
        return click.option(option.flag, _param(option.flag), is_flag=True, help=option.help)
    hidden = option.enables or default in (dataclasses.MISSING, None)
    kind = click.Choice(option.choices, case_sensitive=False) if option.choices else option.type
    return click.option(option.flag, _param(option.flag), type=kind, metavar=option.metavar,
                        multiple=option.multiple, default=None,
                        help=option.help + ("" if hidden else f" [default: {default}]"))


def _param(flag: str) -> str:
    return _PREFIX + flag.lstrip("-").replace("-", "_")
