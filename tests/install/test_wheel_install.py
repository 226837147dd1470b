"""The built wheel installed where pip puts it for ``--user`` and ``--prefix`` finds its
device profiles and demo data (package data read with importlib.resources).

What this proves: the wheel carries ``targets`` and ``calibration`` and the installed code
finds them next to itself, whatever the install scheme; the console scripts work from there.
What it does not: dependency resolution (the wheel goes in with ``--no-deps``; TensorFlow,
numpy, ... come from this test venv's site-packages on PYTHONPATH, which holds no importable
edgekit: its editable install is a .pth hook that PYTHONPATH entries do not run). A fresh
venv from PyPI is test_base_install.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers.install_support import BASE_PYTHON, VENV_SITE, clean_env, run

pytestmark = pytest.mark.slow


def _install(wheel: Path, scratch: Path, scheme: str) -> tuple[Path, dict[str, str]]:
    """pip install --no-deps WHEEL with ``--user`` (HOME=scratch/home) or ``--prefix``;
    returns the scripts folder and the environment to run them in."""
    home = scratch / "home"
    home.mkdir()
    # This venv's pip, run by the base interpreter (--python) WITHOUT this venv on its path: pip
    # must not see the venv's own (editable) edgekit, or it would uninstall it. Debian's python
    # refuses --user without the override.
    env = clean_env(HOME=str(home), PIP_BREAK_SYSTEM_PACKAGES="1")
    env.pop("XDG_DATA_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    where = ["--user"] if scheme == "user" else ["--prefix", str(scratch / "prefix")]
    pip = run(sys.executable, "-m", "pip", "--python", BASE_PYTHON, "install", "-q", "--no-deps", "--no-index",
              "--ignore-installed", "--no-warn-script-location", *where, wheel, env=env, cwd=scratch)
    env["PYTHONPATH"] = VENV_SITE
    assert pip.returncode == 0, pip.stderr
    if scheme == "user":
        return home / ".local" / "bin", env
    (package,) = (scratch / "prefix").glob("**/edgekit/__init__.py")   # lib/pythonX.Y/site-packages here
    site = package.parent.parent
    env["PYTHONPATH"] = f"{site}:{VENV_SITE}"
    return scratch / "prefix" / "bin", env


@pytest.mark.parametrize("scheme", ["user", "prefix"])
def test_installed_wheel_finds_targets_and_demo_data(wheel, tmp_path, scheme):
    bin_dir, env = _install(wheel, tmp_path, scheme)
    work = tmp_path / "work"
    work.mkdir()

    where = run(BASE_PYTHON, "-c", "import edgekit.resources as r; print(r.__file__); print(r.digits_path('val'))",
                env=env, cwd=work)
    module, data = where.stdout.split()
    assert Path(module).is_relative_to(tmp_path) and Path(data).is_relative_to(tmp_path), where.stdout
    assert Path(data).is_file()

    listing = run(bin_dir / "edgekit", "targets", "list", "--json", env=env, cwd=work)
    assert listing.returncode == 0, listing.stderr
    profiles = {t["name"]: t for t in json.loads(listing.stdout)}
    assert {"local", "rpi3", "rpi4"} <= set(profiles)
    assert all(Path(t["path"]).is_relative_to(tmp_path) and t["origin"] == "bundled" for t in profiles.values())

    demo = run(bin_dir / "edgekit", "demo", "--epochs", "1", "--runs", "5", "--warmup", "1", "--out", work / "demo",
               "--json", env=env, cwd=work)
    assert demo.returncode == 0, demo.stderr
    report = json.loads((work / "demo" / "report.json").read_text())
    assert report == json.loads(demo.stdout)
    assert (work / "demo" / "digits_int8.tflite").stat().st_size > 0

    probe = run(bin_dir / "edgekit-agent", "probe", env=env, cwd=work)
    assert probe.returncode == 0 and json.loads(probe.stdout)["ok"], probe.stdout + probe.stderr
