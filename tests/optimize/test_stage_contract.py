"""The stage registry's contract, checked for every registered stage: its config, flags, tunables,
exclusions and back-off agree with each other, and one setting reads the same from an ``[[optimize]]``
table, the command line and Python (the TOML key, the flag's suffix and the config's argument are one name).

Nothing here trains: a new stage that breaks its declaration fails in seconds, not in a build.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing

import pytest

from edgekit.errors import UsageError
from edgekit.optimize.stages import Backoff, NoBackoff, Param, Stage, Step, check_order, get_stage, stage_names, stages
from helpers.support import ROOT

NAMES = stage_names()

BASE = """[data]
train = "train.npz"
val = "val.npz"
"""


def _example(stage: Stage) -> dict:
    """The stage's ``[[optimize]]`` example (``edgekit init``'s template) as a table, without ``step``."""
    table = tomllib.loads(stage.example)
    assert table.pop("step") == stage.name
    return table


def _values(param: Param) -> tuple:
    """The settings a search may pick at the edges of ``param``'s range (every choice of a categorical)."""
    return {"float": (param.low, param.high), "int": (param.low, param.high), "bool": (True, False),
            "categorical": param.choices}[param.kind]


def _tables(stage: Stage) -> list[dict]:
    """The example, and the example with each tunable at each edge: the tables a user or a search writes."""
    example = _example(stage)
    return [example] + [{**example, **param.fields(value)} for param in stage.tunables for value in _values(param)]


def _argv(stage: Stage, table: dict) -> list[str]:
    """The command-line words of ``table``: each key through its flag (a key another one overrides left out:
    the flags refuse both), the stage switched on."""
    options = {option.field: option for option in stage.options}
    overridden = {other for key in table for other in options[key].excludes}
    argv = []
    for key, value in table.items():
        if key in overridden:
            continue
        flag = stage.flag_of(key)
        if isinstance(value, bool):
            argv += [flag] if value else []
        elif isinstance(value, dict):  # per-layer: --flag NAME=VALUE, repeated
            argv += [word for name, item in value.items() for word in (flag, f"{name}={item}")]
        elif isinstance(value, (list, tuple)):  # N:M
            argv += [flag, ":".join(map(str, value))]
        else:
            argv += [flag, str(value)]
    if not any(word in stage.enabling_flags() for word in argv):
        argv.append(stage.enabling_flags()[0])
    return argv


def _from_cli(argv: list[str]) -> list[Step]:
    """The steps ``edgekit optimize`` makes of ``argv``: click parses, the registry reads the flags."""
    from edgekit.cli import cli
    from edgekit.cli.stage_options import given_flags
    from edgekit.optimize.stages import steps_from_flags

    command = cli.get_command(None, "optimize")
    ctx = command.make_context("optimize", ["in.keras", "-o", "out.keras", "--train-data", "t.npz", *argv])
    return steps_from_flags(given_flags(dict(ctx.params)))


def _from_toml(tmp_path, name: str, table: dict, number: int = 0):
    """The config an edgekit.toml with this ``[[optimize]]`` table (written by the writer ``edgekit tune`` uses)
    loads to."""
    from edgekit.pipeline.config import load_config
    from edgekit.tune.emit import build_toml

    path = tmp_path / f"edgekit{number}.toml"
    path.write_text(BASE)
    written = build_toml(load_config(path), [{"step": name, **table}], {}, "stage contract")
    path.write_text(written)
    config = load_config(path)
    return config.optimize[0].settings()


def _table(config) -> dict:
    """``config`` as an ``[[optimize]]`` table: the fields that differ from the defaults."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if getattr(config, f.name) != _default(f)}


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def test_one_stage_per_folder_and_every_folder_registered():
    folders = sorted(path.parent.name for path in (ROOT / "edgekit" / "optimize").glob("*/stage.py"))
    registered = sorted(stage.apply.__module__.split(".")[-2] for stage in stages())
    assert registered == folders and len(set(registered)) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_config_is_a_dataclass_the_table_and_the_flags_fill(name):
    stage = get_stage(name)
    assert dataclasses.is_dataclass(stage.config)
    assert set(typing.get_type_hints(stage.config)) == set(stage.keys())
    missing = [f.name for f in dataclasses.fields(stage.config)
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    assert missing == [], f"{name}: a table sets only what it changes, so every field needs a default"
    assert set(_example(stage)) <= set(stage.keys())
    stage.config(**_example(stage))
    assert set(stage.paths) <= set(stage.keys())


@pytest.mark.parametrize("name", NAMES)
def test_options_are_named_for_their_fields(name):
    stage = get_stage(name)
    assert stage.enabling_flags(), f"{name}: no flag switches the stage on"
    assert sum(option.main for option in stage.options) <= 1
    for flag, option in stage.flags().items():
        if option.field is None:
            assert flag == f"--{name}" and option.type is bool and option.enables
            continue
        assert option.field in stage.keys()
        assert flag == (f"--{name}" if option.main else f"--{name}-{option.field.replace('_', '-')}")
        for other in (*option.needs, *option.excludes):
            assert stage.flag_of(other), f"{flag}: names {other}, which has no flag"


def test_flags_and_old_spellings_are_unique_across_stages():
    words = [word for stage in stages() for flag, option in stage.flags().items() for word in (flag, *option.renamed_from)]
    assert len(words) == len(set(words))


@pytest.mark.parametrize("command", ["optimize", "distill"])
def test_cli_flags_come_from_the_registry(command):
    from edgekit.cli import cli

    click_command = cli.get_command(None, command)
    declared = {word for param in click_command.params for word in param.opts}
    wanted = [flag for stage in stages() if command == "optimize" or stage.name == command for flag in stage.flags()]
    assert wanted and set(wanted) <= declared
    if command == "optimize":
        assert f"Stages run in the order {', '.join(NAMES)}" in click_command.help


def test_errors_list_the_stages_in_registry_order():
    with pytest.raises(UsageError, match=f"known: {', '.join(NAMES)}"):
        get_stage("no-such-stage")


@pytest.mark.parametrize("name", NAMES)
def test_tunables_are_config_settings_with_a_flag(name):
    stage = get_stage(name)
    for param in stage.tunables:
        assert param.kind in ("float", "int", "bool", "categorical")
        if param.kind in ("float", "int"):
            assert param.low < param.high
        for value in _values(param):
            fields = param.fields(value)
            assert set(fields) <= set(stage.keys()), f"{name}: tunable {param.name} sets unknown fields"
            assert all(stage.flag_of(key) for key in fields)  # what a search picks, a user can type
            stage.config(**{**_example(stage), **fields})


@pytest.mark.parametrize("name", NAMES)
def test_exclusions_name_stages_and_refuse_the_pair_in_either_order(name):
    stage = get_stage(name)
    for other in stage.excludes:
        assert other in NAMES and other != name
        for pair in ([name, other], [other, name]):
            with pytest.raises(UsageError, match="cannot be combined"):
                check_order(pair)


@pytest.mark.parametrize("name", NAMES)
def test_backoff_is_declared_and_moves_toward_none(name):
    stage = get_stage(name)
    backoff = stage.backoff
    assert isinstance(backoff, (Backoff, NoBackoff)), f"{name}: declare a Backoff or NoBackoff(why)"
    if isinstance(backoff, NoBackoff):
        assert backoff.why.strip() and backoff.start(stage.config(**_example(stage))) is None
        return
    assert backoff.field in stage.keys() and (backoff.unless is None or backoff.unless in stage.keys())
    if backoff.try_none:  # a setting the budget runs: the config must take it
        stage.config(**{**_example(stage), backoff.field: backoff.none})
    if isinstance(backoff.none, bool):
        assert backoff.between(not backoff.none, backoff.none, stage) is None
        return
    param = next(p for p in stage.tunables if p.name == backoff.field)  # its scale (log, int) comes from here
    far = max((param.low, param.high), key=lambda end: abs(end - backoff.none))
    middle = backoff.between(far, backoff.none, stage)
    assert min(far, backoff.none) < middle < max(far, backoff.none)


@pytest.mark.parametrize("name", NAMES)
def test_toml_round_trip(name, tmp_path):
    """[[optimize]] table -> config -> table -> edgekit.toml -> the same config."""
    stage = get_stage(name)
    for number, table in enumerate(_tables(stage)):
        config = _from_toml(tmp_path, name, table, number)
        assert config == stage.config(**table)  # the TOML keys are the Python API's arguments
        assert _from_toml(tmp_path, name, _table(config), number) == config


@pytest.mark.parametrize("name", NAMES)
def test_flags_give_the_config_the_toml_gives(name, tmp_path):
    stage = get_stage(name)
    for number, table in enumerate(_tables(stage)):
        if any(key in stage.paths for key in table):
            continue  # a file path is made absolute against the edgekit.toml's folder
        assert _from_cli(_argv(stage, table)) == [Step(name, _from_toml(tmp_path, name, table, number))]
