"""The ``edgekit`` command line.

Sub-commands live one per module in this package and are imported only when used, so
``edgekit --help`` and commands that do not need TensorFlow (``inspect``, ``bench``,
``deploy``, ...) start fast. A command module must not import TensorFlow or Keras at
module level.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from edgekit import __version__
from edgekit.errors import EdgekitError

# name -> "module:attribute"; the order here is the order of ``edgekit --help``.
COMMANDS: dict[str, str] = {
    "demo": "edgekit.cli.demo:demo",
    "convert": "edgekit.cli.convert:convert",
    "inspect": "edgekit.cli.inspect:inspect_cmd",
    "eval": "edgekit.cli.evaluate:eval_cmd",
    "bench": "edgekit.cli.bench:bench",
    "optimize": "edgekit.cli.optimize:optimize",
    "distill": "edgekit.cli.distill:distill",
    "sensitivity": "edgekit.cli.sensitivity:sensitivity",
    "targets": "edgekit.cli.targets:targets",
    "deploy": "edgekit.cli.deploy:deploy",
    "rollback": "edgekit.cli.deploy:rollback",
    "history": "edgekit.cli.history:history",
    "compare": "edgekit.cli.history:compare",
    "init": "edgekit.cli.build:init",
    "build": "edgekit.cli.build:build",
    "export": "edgekit.cli.export:export",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when it is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgekitError as err:
            click.echo(f"edgekit: error: {err}", err=True)
            ctx.exit(err.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgekit")
def cli() -> None:
    """Optimize, convert, inspect, deploy and benchmark TFLite models on edge devices."""


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter off stderr
    try:
        cli.main(prog_name="edgekit")
    except KeyboardInterrupt:
        click.echo("edgekit: interrupted", err=True)
        sys.exit(130)
