"""Every command edgekit suggests as a fix, produced by the code that prints it and then run.

Each kind of hint in :data:`edgekit.hints.HINTS` has a producer here: it provokes the real
refusal (a model a target cannot run, an empty history, a missing edgekit.toml), takes the
command from the message, fills the capitalised words with real files and runs it.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest

from edgekit.errors import ConfigError, UsageError
from edgekit.hints import HINTS, MODEL, MODEL_KERAS, SPEC
from edgekit.remote.compat import check_model_for_target
from edgekit.targets import load_target

COMMAND = re.compile(r"edgekit [^,;'`]+?(?=, then|'|`|$)")


def commands_in(message: str) -> list[list[str]]:
    """The edgekit command lines a message suggests, as argv after ``edgekit``."""
    return [shlex.split(match)[1:] for match in COMMAND.findall(message)]


def filled(argv: list[str], out_dir: Path, **files: Path) -> list[str]:
    """``argv`` with its placeholders as real files; an ``-o NAME`` is written into ``out_dir``."""
    values = {MODEL_KERAS: files.get("keras"), SPEC: files.get("spec"), MODEL: files.get("tflite")}
    result = [str(values[a]) if values.get(a) else a for a in argv]
    if "-o" in result:
        i = result.index("-o") + 1
        result[i] = str(out_dir / result[i])
    return result


def refusal(path: Path, target) -> str:
    with pytest.raises(UsageError) as info:
        check_model_for_target(path, target)
    return str(info.value)


@pytest.fixture(scope="module")
def int8_float_io(digits_model, digits_train, tmp_path_factory) -> Path:
    """A full-int8 digits model whose inputs and outputs stay float32: what coral-usb refuses."""
    from edgekit.convert import convert_file

    path = tmp_path_factory.mktemp("hints") / "digits_int8.tflite"
    convert_file(digits_model, path, quantize="int8", calibration=str(digits_train))
    return path


def convert_hints(cli, tmp_path, digits_model, digits_train, int8_float_io):
    """coral-usb on an int8 model with float I/O and on a float model; an int8-only target on a float model."""
    coral = load_target("coral-usb")
    float_model = tmp_path / "digits_float.tflite"
    assert cli("convert", digits_model, "-o", float_model).exit_code == 0
    int8_only = dataclasses.replace(load_target("local"), quantizations=("int8",))
    for path, target in ((int8_float_io, coral), (float_model, coral), (float_model, int8_only)):
        message = refusal(path, target)
        [argv] = commands_in(message)
        out = tmp_path / target.name
        out.mkdir(exist_ok=True)
        result = cli(*filled(argv, out, keras=digits_model, spec=digits_train))
        assert result.exit_code == 0, f"{message}\n-> {result.output}"
        written = out / path.name
        # What is left is what no edgekit command does: compiling for the Edge TPU.
        left = refusal(written, target) if target.delegate else check_model_for_target(written, target)
        assert left is None or commands_in(left) == [], left


def bench_hint(cli, tmp_path, digits_model, digits_train, int8_float_io):
    empty = cli("history")
    [argv] = commands_in(empty.stderr)
    assert cli(*filled(argv, tmp_path, tflite=int8_float_io), "--runs", "3").exit_code == 0
    assert cli("history").stdout.count("digits_int8.tflite") == 1


def init_hint(cli, tmp_path, digits_model, digits_train, int8_float_io):
    from edgekit.pipeline.config import load_config

    folder = tmp_path / "project"
    folder.mkdir()
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    [argv] = commands_in(str(info.value))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert cli(*argv).exit_code == 0
    assert load_config(folder).path == folder / "edgekit.toml"


PRODUCERS = {"convert": convert_hints, "bench": bench_hint, "init": init_hint}


def test_every_hint_has_a_producer():
    assert set(PRODUCERS) == set(HINTS)


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_hint_runs(name, cli, tmp_path, digits_model, digits_train, int8_float_io):
    PRODUCERS[name](cli, tmp_path, digits_model, digits_train, int8_float_io)
