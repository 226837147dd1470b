"""Old option spellings that still work for one release, each with one deprecation line.

A command built with :class:`Command` and ``renamed={"--old": "--new"}`` rewrites the old
spelling to the new one before click parses, and says so once on stderr in the one
format every command uses. The new option alone is declared, so ``--help`` shows the
vocabulary and nothing else, and the values cannot differ from the new option's.
"""

from __future__ import annotations

import click


def deprecation(old: str, new: str) -> str:
    return f"edgekit: warning: {old} is deprecated; use {new}"


class Command(click.Command):
    """A click command that accepts the old spellings in ``renamed`` (old -> new)."""

    def __init__(self, *args, renamed: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed or {})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, respell(args, self.renamed))


def respell(args: list[str], renamed: dict[str, str]) -> list[str]:
    """``args`` with old spellings (``--old``, ``--old=V``, ``-o``, ``-oV``) made new, one warning per old
    spelling used."""
    out, warned = [], set()
    for index, arg in enumerate(args):
        if arg == "--":  # the rest are operands
            return out + args[index:]
        name, sep, value = _split(arg)
        new = renamed.get(name)
        if new is None:
            out.append(arg)
            continue
        if name not in warned:
            click.echo(deprecation(name, new), err=True)
            warned.add(name)
        out.append(new + sep + value)
    return out


def _split(arg: str) -> tuple[str, str, str]:
    """An option word as (name, "=", value) when it carries its value, else (arg, "", "")."""
    if arg.startswith("--"):
        return arg.partition("=")
    if arg.startswith("-") and len(arg) > 2:  # -oDIR
        return arg[:2], "=", arg[2:]
    return arg, "", ""
