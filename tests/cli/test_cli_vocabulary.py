"""One vocabulary across every command: the click tree against the table, the stage registry's contract,
the deprecated spellings, the generated docs/cli.md and ``edgekit --help``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest

import cli_vocabulary
from edgekit.cli.renamed import deprecation
from edgekit.errors import UsageError
from edgekit.optimize.finetune import FINETUNE
from edgekit.optimize.stages import Step, check_order, get_stage, stage_names, stages, steps_from_flags

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_speaks_the_vocabulary():
    assert cli_vocabulary.violations() == []


def test_the_walk_fails_on_an_option_that_breaks_the_table(monkeypatch):
    """A command with a directory behind -o, a private fine-tuning default, half a stage's flags and no --seed."""

    @click.command()
    @click.option("-o", "--output", type=click.Path(file_okay=False))
    @click.option("--output-dir", type=click.Path(file_okay=False))
    @click.option("--epochs", type=int, default=10)
    @click.option("--prune", type=float)
    def rogue(**_):
        """Break every rule."""

    real = cli_vocabulary.commands()
    monkeypatch.setattr(cli_vocabulary, "commands", lambda: {**real, "optimize": rogue})
    found = "\n".join(cli_vocabulary.violations())
    assert "edgekit optimize -o/--output: takes a dir, but the vocabulary says file" in found
    assert "edgekit optimize --output-dir: not in the vocabulary" in found
    assert f"edgekit optimize --epochs: default 10, but the shared fine-tuning default is {FINETUNE.epochs}" in found
    assert "edgekit optimize: has stage prune's flags but not --prune-block-size" in found
    assert "edgekit optimize: trains but has no --seed" in found


def test_docs_cli_md_is_generated_from_the_tree_and_the_registry():
    assert cli_vocabulary.DOC.read_text(encoding="utf-8") == cli_vocabulary.markdown(), (
        "docs/cli.md is stale: run `python tests/cli_vocabulary.py`")


def _args_for(command: click.Command) -> list[str]:
    """The arguments and required options ``command`` cannot parse without, with placeholder values."""
    args = []
    for param in command.params:
        if isinstance(param, click.Argument):
            args.append("model.keras")
        elif param.required:
            args += [param.opts[0], "placeholder"]
    return args


def _value_for(option: click.Option) -> list[str]:
    if option.is_flag:
        return []
    if isinstance(option.type, click.Choice):
        return [option.type.choices[-1]]
    return {"integer": ["3"], "float": ["0.5"]}.get(option.type.name, ["conv2=0.5"])


def _renamed() -> list[tuple[str, str, str]]:
    return [(name, old, new) for name, command in cli_vocabulary.commands().items()
            for old, new in getattr(command, "renamed", {}).items()]


@pytest.mark.parametrize("name, old, new", _renamed(), ids=lambda value: str(value))
def test_an_old_spelling_works_and_prints_one_deprecation_line(name, old, new, capsys):
    command = cli_vocabulary.commands()[name]
    option = next(o for o in command.params if new in o.opts)
    value = _value_for(option)
    with command.make_context(name, [*_args_for(command), new, *value, new, *value]) as ctx:
        expected = ctx.params[option.name]
    assert capsys.readouterr().err == ""
    with command.make_context(name, [*_args_for(command), old, *value, old, *value]) as ctx:
        assert ctx.params[option.name] == expected
    assert capsys.readouterr().err == deprecation(old, new) + "\n"  # given twice, said once


def test_every_old_spelling_is_covered_by_the_one_helper():
    renamed = {(name, old) for name, old, _ in _renamed()}
    from edgekit.optimize.stages import renamed_flags

    for old in ("--prune-filters", "--distill-width", "--low-rank", "--structured", "--int4-grid"):
        assert old in renamed_flags() and ("optimize", old) in renamed
    assert {("distill", "--width-multiplier"), ("distill", "--student"), ("export", "-o")} <= renamed


def test_a_deprecated_spelling_then_the_error_on_its_value(cli, tmp_path):
    result = cli("export", tmp_path / "missing.tflite", "-o", tmp_path / "src")
    lines = result.stderr.splitlines()
    assert lines[0] == deprecation("-o", "--out")
    assert len(lines) == 2 and lines[1].startswith("edgekit: error: ") and "missing.tflite" in lines[1]
    assert result.exit_code != 0 and not (tmp_path / "src").exists()


@pytest.mark.parametrize("name", ["build", "tune", "demo"])
def test_dash_o_on_a_command_that_writes_a_directory_names_out(name, capsys):
    from edgekit.cli import cli

    with pytest.raises(SystemExit) as exited:
        cli.main([name, "-o", "somewhere"], prog_name="edgekit")
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("edgekit: error: no such option '-o'; this command writes a directory: give "
                                       f"--out DIR (-o is one output file) (see 'edgekit {name} --help')\n")


def test_edgekit_help_shows_every_summary_whole(cli):
    text = "".join(cli("--help").output.split("Commands:")[1].split())  # wrapped lines may break at a hyphen
    assert "..." not in text and "…" not in text
    for name, command in cli_vocabulary.commands().items():
        summary = "".join(command.get_short_help_str(limit=10_000).split())
        assert summary.endswith(".") and name + summary in text


def test_optimize_help_and_errors_give_the_registry_order(cli):
    order = ", ".join(stage_names())
    assert f"Stages run in the order {order}" in " ".join(cli("optimize", "--help").output.split())
    result = cli("optimize", "m.keras", "-o", "o.keras", "--train-data", "t.npz")
    assert result.exit_code == 2 and f"in the order they run: {order};" in result.stderr


def test_no_hand_kept_stage_order_outside_the_registry():
    """Three built-in stages in a row, in any text of the repository, is a copy of the registry's order."""
    names = stage_names()
    pattern = re.compile(r"\W+".join(map(re.escape, names[1:4])))
    files = [p for pattern_ in ("edgekit/**/*.py", "tests/**/*.py", "docs/*.md", "README.md")
             for p in ROOT.glob(pattern_) if p != cli_vocabulary.DOC]
    copies = [str(p.relative_to(ROOT)) for p in files if pattern.search(p.read_text(encoding="utf-8"))]
    assert len(files) > 50 and copies == []


def test_the_fine_tuning_flags_load_no_numpy():
    """--help of the commands that fine-tune shows the shared defaults without loading NumPy or TensorFlow."""
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from edgekit.cli import cli\n"
            "for name in ('optimize', 'distill', 'build', 'tune'):\n"
            "    assert CliRunner().invoke(cli, [name, '--help']).exit_code == 0\n"
            "print(sorted(m for m in ('numpy', 'tensorflow', 'keras') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_fine_tuning_defaults_are_one_object():
    from edgekit.optimize.finetune import FINETUNE, Finetune
    from edgekit.pipeline.config import FinetuneSection

    assert FinetuneSection().finetune() == FINETUNE == Finetune()


# ---- the stage contract -------------------------------------------------------------------------------------

def _flags_for(stage, config) -> dict:
    """The command-line flags that ask for ``config`` (the inverse of steps_from_flags)."""
    defaults = {f.name: f.default for f in dataclasses.fields(stage.config)}
    flags = {stage.flag(o): True for o in stage.options if o.field is None}
    for flag, option in stage.flags().items():
        value = getattr(config, option.field) if option.field else None
        if option.field and (value != defaults[option.field] or option.enables and value not in (None, {}, ())):
            flags[flag] = tuple(f"{k}={v}" for k, v in value.items()) if option.multiple else \
                ":".join(map(str, value)) if isinstance(value, tuple) else value
    return flags


def _toml_config(tmp_path, stage) -> object:
    from edgekit.pipeline.config import load_config

    path = tmp_path / "edgekit.toml"
    path.write_text(f'[data]\ntrain = "t.npz"\nval = "v.npz"\n\n[[optimize]]\n{stage.example}\n', encoding="utf-8")
    return load_config(path).optimize_steps()[0].settings()


@pytest.mark.parametrize("name", stage_names())
def test_a_stage_declares_itself_consistently(name):
    stage = get_stage(name)
    keys = set(stage.keys())
    assert dataclasses.is_dataclass(stage.config) and stage.summary and stage.example.startswith(f'step = "{name}"')
    flags = list(stage.flags())
    assert len(flags) == len(stage.options) and stage.enabling_flags(), "one flag per option, one enabling at least"
    assert sum(1 for o in stage.options if o.main or o.field is None) <= 1
    for option in stage.options:
        assert option.field is None or option.field in keys, f"{name}: option {option.field} is not a config field"
        assert set(option.needs) | set(option.excludes) <= {o.field for o in stage.options}
        if option.choices:
            assert option.type is str
    assert set(stage.paths) <= keys
    for param in stage.tunables:
        fields_ = {k for preset in param.presets.values() for k in preset} if param.presets else {param.name}
        assert fields_ <= keys, f"{name}: tunable {param.name} sets no config field"
        choices = next((o.choices for o in stage.options if o.field == param.name and o.choices), None)
        assert choices is None or set(param.choices) <= set(choices)
        assert param.kind != "float" or param.low < param.high
    for other in stage.excludes:
        assert other != name and other in stage_names()
        with pytest.raises(UsageError, match="cannot be combined"):
            check_order([name, other] if not stage.last else [other, name])


@pytest.mark.parametrize("name", stage_names())
def test_a_stage_round_trips_through_toml_and_the_command_line(name, tmp_path):
    """The example [[optimize]] table, read as edgekit.toml reads it, asks for the same step its flags do."""
    stage = get_stage(name)
    config = _toml_config(tmp_path, stage)
    flags = _flags_for(stage, config)
    assert flags and all(flag in stage.flags() for flag in flags)
    assert steps_from_flags(flags) == [Step(name, config)]


def test_stage_flags_on_the_command_line_are_the_registrys():
    from edgekit.cli import cli

    command = cli.get_command(click.Context(cli), "optimize")
    given = {opt for p in command.params for opt in p.opts if opt.startswith("--")}
    assert {flag for stage in stages() for flag in stage.flags()} <= given
    assert not {old for old in getattr(command, "renamed", {})} & given, "an old spelling is still an option"

