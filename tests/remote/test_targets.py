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


@pytest.mark.parametrize("text, message", [
    ('name = "x"\n', "missing key 'description'"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = "four"\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n', "key 'cores' must be an integer"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["onnx"]\nquantizations = ["int8"]\n', "key 'runtimes' must be a non-empty list"),
    ('name = "x"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n[delegate]\nio_types = ["int8"]\n',
     "missing key 'delegate.library'"),
    ('name = "y"\ndescription = "d"\narch = "aarch64"\ncpu = "c"\ncores = 4\nram_mb = 1\n'
     'runtimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n', "key 'name' is 'y'"),
])
def test_bad_profile_names_file_and_key(tmp_path, text, message):
    (tmp_path / "x.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_target("x", extra_dirs=[tmp_path])
    assert str(tmp_path / "x.toml") in str(info.value) and message in str(info.value)


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
