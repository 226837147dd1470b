"""Device profiles: every bundled one loads with real specs; bad ones name file and key."""

from __future__ import annotations

import json

import pytest

from edgekit.errors import ConfigError, UsageError
from edgekit.targets import list_targets, load_target

EXPECTED = {"rpi3", "rpi4", "rpi5", "rpi-zero2w", "coral-devboard", "coral-usb", "jetson-nano", "generic-aarch64", "local"}


def test_bundled_profiles_load():
    targets = {t.name: t for t in list_targets()}
    assert set(targets) == EXPECTED
    assert targets["rpi4"].cpu == "Cortex-A72" and targets["rpi4"].cores == 4
    assert targets["rpi-zero2w"].ram_mb == 512
    coral = targets["coral-usb"]
    assert coral.delegate.library == "libedgetpu.so.1" and coral.delegate.requires_full_int8
    assert coral.quantizations == ("int8",) and set(coral.delegate.io_types) == {"int8", "uint8"}
    assert targets["jetson-nano"].delegate is None


@pytest.mark.parametrize("text, line, message", [
    ('name = "x"\n', None, "missing key 'description'"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = "four"\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n', 5, "cores: expected an integer, got string 'four'"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["onnx"]\nquantizations = ["int8"]\n', 7, "runtimes: expected a list of tflite_runtime, ai_edge_litert, tensorflow.lite, got list ['onnx']"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n[delegate]\nio_types = ["int8"]\n', 9,
     "missing key 'library' in [delegate]"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n[delegate]\nlibrary = "l.so"\nlibary = "x"\n', 11,
     "unknown key 'libary' in [delegate]"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = -1\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n', 5, "cores: expected an integer >= 0, got integer -1"),
    ('name = "y"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n', 1, "key 'name' is 'y'"),
    ('name = "x"\ndescription = "caf\xe9"\n', None, "not UTF-8 text (byte 0xe9 at line 2, column 19)"),
    ('name = "x\ndescription = "d"\n', 1, "not valid TOML: "),
])
def test_bad_profile_names_file_line_and_key(tmp_path, text, line, message):
    (tmp_path / "x.toml").write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_target("x", extra_dirs=[tmp_path])
    where = f"{tmp_path / 'x.toml'}:{line}: " if line else f"{tmp_path / 'x.toml'}: "
    assert str(info.value).startswith(where) and message in str(info.value), str(info.value)


def test_a_directory_named_like_a_profile_is_the_same_error_listed_or_named(tmp_path):
    (tmp_path / "x.toml").mkdir()
    for load in (lambda: list_targets([tmp_path]), lambda: load_target("x", [tmp_path])):
        with pytest.raises(ConfigError, match=r"x.toml: cannot read a target profile: Is a directory"):
            load()
    with pytest.raises(UsageError, match="unknown target '../x'"):
        load_target("../x", [tmp_path / "x.toml"])


def test_unknown_target_lists_known_ones():
    with pytest.raises(UsageError, match="known targets: coral-devboard, coral-usb"):
        load_target("rpi9")


def test_targets_cli(cli):
    listing = cli("targets", "list")
    assert listing.exit_code == 0 and "rpi-zero2w" in listing.stdout and "libedgetpu.so.1" in listing.stdout
    shown = json.loads(cli("targets", "show", "rpi5", "--json").stdout)
    assert shown["cpu"] == "Cortex-A76" and shown["arch"] == "aarch64"
    assert cli("targets", "show", "nope").exit_code == 2


def test_deploy_and_targets_commands_do_not_import_paramiko_or_tensorflow():
    import subprocess
    import sys

    code = ("import sys, edgekit.cli.deploy, edgekit.cli.targets, edgekit.targets; "
            "print(sorted(m for m in ('paramiko', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
