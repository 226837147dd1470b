"""Profiles of one's own: user (XDG), project, $EDGEKIT_TARGETS and --targets-dir layered over
the bundled ones; the replaced profile is named; `targets show` says where a profile came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.support import run_edgekit

from edgekit.errors import ConfigError, UsageError
from edgekit.resources import targets_dir
from edgekit.targets import list_targets, load_target, profile_dirs


def profile(folder: Path, name: str, *, ram_mb: int = 1024, arch: str = "aarch64") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "{name} of {folder.name}"\narch = "{arch}"\ncpu = "Cortex-A55"\n'
                    f'cores = 4\nram_mb = {ram_mb}\nruntimes = ["ai_edge_litert"]\nquantizations = ["int8"]\n')
    return path


@pytest.fixture(autouse=True)
def layers(tmp_path, monkeypatch):
    """Each test starts with no user, project or $EDGEKIT_TARGETS profiles."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("EDGEKIT_TARGETS", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_user_profile_is_listed_and_overrides_bundled(tmp_path):
    user = tmp_path / "config" / "edgekit" / "targets"
    profile(user, "orin-carrier")
    path = profile(user, "rpi4", ram_mb=8192)
    targets = {t.name: t for t in list_targets()}
    assert targets["orin-carrier"].origin == "user" and targets["orin-carrier"].overrides is None
    rpi4 = targets["rpi4"]
    assert (rpi4.origin, rpi4.path, rpi4.ram_mb) == ("user", path, 8192)
    assert rpi4.overrides.origin == "bundled" and rpi4.overrides.path == targets_dir() / "rpi4.toml"
    assert rpi4.note == f"overrides bundled rpi4 ({targets_dir() / 'rpi4.toml'})"
    assert load_target("rpi4") == rpi4 and targets["rpi5"].origin == "bundled"


def test_layers_in_order_project_env_then_option(tmp_path, monkeypatch):
    (tmp_path / "edgekit.toml").write_text("")
    profile(tmp_path / "config" / "edgekit" / "targets", "board", ram_mb=1)
    profile(tmp_path / "targets", "board", ram_mb=2)
    assert (load_target("board").origin, load_target("board").ram_mb) == ("project", 2)
    profile(tmp_path / "env", "board", ram_mb=3)
    monkeypatch.setenv("EDGEKIT_TARGETS", str(tmp_path / "env"))
    board = load_target("board")
    assert (board.origin, board.ram_mb, board.overrides.origin, board.overrides.overrides.origin) == (
        "EDGEKIT_TARGETS", 3, "project", "user")
    profile(tmp_path / "mine", "board", ram_mb=4)
    board = load_target("board", [tmp_path / "mine"])
    assert (board.origin, board.ram_mb, board.note) == ("--targets-dir", 4,
                                                        f"overrides EDGEKIT_TARGETS board ({tmp_path / 'env/board.toml'})")
    assert [d.origin for d in profile_dirs([tmp_path / "mine"])] == [
        "bundled", "user", "project", "EDGEKIT_TARGETS", "--targets-dir"]


def test_targets_folder_without_edgekit_toml_is_not_a_project(tmp_path):
    profile(tmp_path / "targets", "board")
    with pytest.raises(UsageError, match="unknown target 'board'"):
        load_target("board")


def test_missing_named_folder_and_bad_user_profile_are_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=f"--targets-dir: {tmp_path / 'nope'} is not a directory"):
        list_targets([tmp_path / "nope"])
    monkeypatch.setenv("EDGEKIT_TARGETS", str(tmp_path / "gone"))
    with pytest.raises(UsageError, match="EDGEKIT_TARGETS: .*gone is not a directory"):
        load_target("rpi4")
    monkeypatch.delenv("EDGEKIT_TARGETS")
    bad = profile(tmp_path / "config" / "edgekit" / "targets", "rpi4")
    bad.write_text(bad.read_text().replace("cores = 4", 'cores = "four"'))
    with pytest.raises(ConfigError, match=f"{bad}:5: cores: expected an integer"):
        list_targets()


def test_targets_cli_shows_origin_and_override_note(tmp_path):
    user = profile(tmp_path / "config" / "edgekit" / "targets", "rpi4", ram_mb=8192)
    mine = profile(tmp_path / "mine", "jetson-orin")
    listing = run_edgekit("targets", "list", "--targets-dir", tmp_path / "mine", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()[1:]}
    assert " user " in rows["rpi4"] and " --targets-dir " in rows["jetson-orin"] and " bundled " in rows["rpi5"]
    assert f"note: rpi4 from {user} overrides bundled rpi4 ({targets_dir() / 'rpi4.toml'})" in listing.stderr
    shown = run_edgekit("targets", "show", "rpi4", cwd=tmp_path)
    assert f"path:            {user}\n" in shown.stdout and "origin:          user\n" in shown.stdout
    assert f"overrides:       bundled rpi4 ({targets_dir() / 'rpi4.toml'})" in shown.stdout
    doc = json.loads(run_edgekit("targets", "show", "jetson-orin", "--targets-dir", tmp_path / "mine", "--json",
                                 cwd=tmp_path).stdout)
    assert (doc["origin"], doc["path"], doc["overrides"]) == ("--targets-dir", str(mine), None)
    bundled = json.loads(run_edgekit("targets", "show", "rpi3", "--json", cwd=tmp_path).stdout)
    assert (bundled["origin"], bundled["arch"], bundled["ram_mb"]) == ("bundled", "armv7l", 1024)

