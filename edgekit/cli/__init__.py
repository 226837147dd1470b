"""The ``edgekit`` command line.

Sub-commands live one per module in this package and are imported only when used, so
``edgekit --help`` and commands that do not need TensorFlow (``inspect``, ``bench``,
``deploy``, ...) start fast. A command module must not import TensorFlow or Keras at
module level.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys

import click

from edgekit import __version__
from edgekit.errors import EdgekitError
from edgekit.interrupts import finished, terminate_as_interrupt

_NO_LIMIT = 1_000  # characters of a command's summary in ``edgekit --help``: its whole first sentence

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
    "tune": "edgekit.cli.tune:tune",
    "export": "edgekit.cli.export:export",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when it is needed.

    It also speaks edgekit's error dialect for click's own errors: a usage error (missing
    option, bad value, unknown command) is one ``edgekit: error: ...`` line and exit 2.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Every command with its whole first sentence: click cuts a summary to the width left on the
        line and ends it with "...", which hid what half the commands do."""
        rows = [(name, self.get_command(ctx, name).get_short_help_str(limit=_NO_LIMIT))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise click.UsageError(f"no such command '{name}'{hint}", ctx)
        return super().resolve_command(ctx, args)

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
        except KeyboardInterrupt:  # before click turns it into "Aborted!" and exit 1
            click.echo("edgekit: interrupted", err=True)
            ctx.exit(130)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's standalone mode, with click's errors printed as edgekit prints its own."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as err:
            click.echo(f"edgekit: error: {_one_line(err)}{_out_hint(err)}{_help_hint(err.ctx)}", err=True)
            code = err.exit_code
        except click.ClickException as err:
            click.echo(f"edgekit: error: {_one_line(err)}", err=True)
            code = err.exit_code
        except click.Abort:
            click.echo("edgekit: interrupted", err=True)
            code = 130
        sys.exit(code if isinstance(code, int) else 0)


def _one_line(err: click.ClickException) -> str:
    """Click's message on one line, in edgekit's lower-case style."""
    text = "; ".join(line.strip() for line in err.format_message().splitlines() if line.strip()).rstrip(".")
    return text[:1].lower() + text[1:]


def _out_hint(err: click.UsageError) -> str:
    """``-o`` names one file on every command; one that writes a directory says which option it takes."""
    if isinstance(err, click.NoSuchOption) and err.option_name == "-o" and err.ctx is not None \
            and any("--out" in param.opts for param in err.ctx.command.params):
        return "; this command writes a directory: give --out DIR (-o is one output file)"
    return ""


def _help_hint(ctx: click.Context | None) -> str:
    return f" (see '{ctx.command_path} --help')" if ctx is not None else ""


@click.group("edgekit", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgekit")
@click.option("-v", "--verbose", is_flag=True,
              help="Show TensorFlow's, absl's and LiteRT's own log lines (hidden by default).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Optimize, convert, inspect, deploy and benchmark TFLite models on edge devices."""
    from edgekit.quiet import VERBOSE_ENV, StderrFilter

    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    elif isinstance(ctx.obj, StderrFilter):  # only the console script owns the process's stderr
        ctx.obj.install()


def main() -> None:
    """Console-script entry point: stderr filtered unless --verbose (see edgekit.quiet)."""
    from edgekit.quiet import StderrFilter

    stderr_filter = StderrFilter()
    terminate_as_interrupt()  # SIGTERM stops build/bench/... like Ctrl-C: exit 130, temp files removed
    try:
        cli.main(prog_name="edgekit", obj=stderr_filter)
    finally:
        finished()
        stderr_filter.close()
