"""Every error a new user met is one ``edgekit: error:`` line with the right exit code, however it arises."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.agent_support import bench_models  # noqa: F401


def one_error_line(result) -> str:
    """The one error line of a failed command, its last line (progress may come before; no usage, no traceback)."""
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("edgekit: error: ")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr and "Usage:" not in result.stderr, result.stderr
    return errors[0][len("edgekit: error: "):]


def test_bench_of_a_keras_file_says_convert_it_like_inspect_and_deploy(cli, digits_model):
    messages = {}
    for command in ("bench", "inspect", "deploy"):
        args = (command, digits_model) + (("--host", "pi@192.0.2.1", "--target", "rpi4") if command == "deploy" else ())
        result = cli(*args)
        assert result.exit_code == 2, (command, result.output)
        messages[command] = one_error_line(result)
    for message in messages.values():
        assert message.startswith(f"{digits_model}: not a TFLite model") and \
            message.endswith("convert it with 'edgekit convert'")


def test_choices_are_case_insensitive(cli, digits_model, tmp_path):
    result = cli("convert", digits_model, "-o", tmp_path / "m.tflite", "--quantize", "INT8", "--io-type", "Int8")
    # accepted as int8: the next check is int8's own (it needs calibration data)
    assert result.exit_code == 2 and "--calibration" in one_error_line(result)


@pytest.mark.parametrize("args, expected", [
    (("benchmark", "m.tflite"), "no such command 'benchmark'; did you mean 'bench'? (see 'edgekit --help')"),
    (("convert", "m.keras"), "missing option '-o' / '--output' (see 'edgekit convert --help')"),
    (("bench", "m.tflite", "--runs", "0"), "invalid value for '--runs': 0 is not in the range x>=1 "
                                           "(see 'edgekit bench --help')"),
])
def test_click_usage_errors_read_like_edgekit_errors(cli, args, expected):
    result = cli(*args)
    assert result.exit_code == 2 and result.stderr == f"edgekit: error: {expected}\n"


def test_a_text_file_named_keras_is_not_a_keras_model(cli, tmp_path):
    fake = tmp_path / "model.keras"
    fake.write_text("not a model\n")
    result = cli("convert", fake, "-o", tmp_path / "m.tflite")
    assert result.exit_code == 2
    assert one_error_line(result).startswith(f"{fake}: not a Keras model (a .keras file is a zip archive")
    assert not (tmp_path / "m.tflite").exists()


def test_nan_calibration_data_is_a_data_error_naming_the_file(cli, digits_model, digits_train, tmp_path):
    data = dict(np.load(digits_train))
    data["x"] = data["x"].copy()
    data["x"][7, 3, 3, 0] = np.nan
    bad = tmp_path / "nan.npz"
    np.savez(bad, **data)
    result = cli("convert", digits_model, "-o", tmp_path / "m.tflite", "--quantize", "int8", "--calibration", bad)
    assert result.exit_code == 2
    assert one_error_line(result) == f"{bad}: 1 sample(s) contain NaN or infinity (first: sample 7); remove or fix them"
    assert not (tmp_path / "m.tflite").exists()


def test_history_finds_a_model_without_its_extension_and_names_hosts_one_way(cli, bench_models, tmp_path):
    import json
    import shutil

    model = shutil.copy(bench_models["int8"], tmp_path / "digits_int8.tflite")
    assert cli("bench", model, "--runs", "3", "--warmup", "0").exit_code == 0
    runs = json.loads(cli("history", "--model", "digits_int8", "--json").stdout)
    assert [(r["model_name"], r["host"], r["target"]) for r in runs] == [("digits_int8.tflite", "local", "local")]
    assert json.loads(cli("history", "--model", "digits_int8.tflite", "--json").stdout) == runs
    assert json.loads(cli("history", "--model", "digits", "--json").stdout) == []


@pytest.mark.parametrize("command", ["build", "tune"])
def test_a_build_file_that_is_not_utf8_is_one_line_naming_where(cli, tmp_path, command):
    config = tmp_path / "edgekit.toml"
    config.write_bytes(b'[model]\nsource = "builtin:digits_cnn"\n\n[data]\ntrain = "tr\xe4in.npz"\n')
    result = cli(command, config, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert one_error_line(result) == f"{config}: not UTF-8 text (byte 0xe4 at line 5, column 12); save it as UTF-8"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, message", [
    ("[train]\nepochs = [[[[" + "[" * 3000 + "\n", "not valid TOML: arrays or tables nested too deeply"),
    ("[train]\nepochs = " + "9" * 5000 + "\n", "not valid TOML: a value Python cannot hold"),
    ("[train]\nepochs = 3\n\0\n", "a NUL byte at line 3, column 1: not a text file"),
    ("[train]\nepochs = 3\n[train]\n", ":3: not valid TOML: Cannot declare ('train',) twice (column 7)"),
    ("[train]\nepochs = 1e999\n", ":2: [train] epochs: expected an integer, got number inf"),
    ("[model]\nsource = 'm.keras'\n[data]\nval = 'v.npz'\n[tune]\ntrials = nan\n",
     ":6: [tune] trials: expected an integer, got number nan"),
])
def test_any_bytes_of_a_build_file_are_one_line(cli, tmp_path, text, message):
    config = tmp_path / "edgekit.toml"
    config.write_text(text)
    result = cli("tune", config, "--out", tmp_path / "out")
    assert result.exit_code == 2 and message in one_error_line(result)
    assert one_error_line(result).startswith(str(config))


def test_a_damaged_keras_config_reads_as_no_config(tmp_path):
    import zipfile

    from edgekit.keras_file import layer_names, saved_compile_config

    for name, config in [("utf8", b'{"config": {"name": "m\xff"}}'), ("deep", b"[" * 100000),
                         ("huge", b'{"config": ' + b"9" * 5000 + b"}"), ("list", b"[1, 2]")]:
        path = tmp_path / f"{name}.keras"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("config.json", config)
        assert layer_names(path) == [] and saved_compile_config(path) is None, name
    good = tmp_path / "good.keras"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", '{"config": {"name": "m", "layers": [{"config": {"name": "dense"}}]}}')
    assert layer_names(good) == ["m", "dense"]
    damaged = good.read_bytes()
    start = damaged.index(b"config.json") + len(b"config.json")  # the compressed bytes after the local header
    (tmp_path / "bad.keras").write_bytes(damaged[:start] + bytes(b ^ 0x5A for b in damaged[start:start + 20]) +
                                         damaged[start + 20:])
    assert layer_names(tmp_path / "bad.keras") == []
