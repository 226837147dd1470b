"""Helpers of the install tests (tests/install, tests/devices): build this checkout's wheel,
run installed commands in an environment that does not point back at the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from helpers.support import ROOT

# The interpreter the test venv was made from (outside any venv: user site and --prefix work).
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
# Where this venv's dependencies (TensorFlow, numpy, ...) are, to reuse them without downloading.
VENV_SITE = sysconfig.get_paths()["purelib"]
_SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                        "tests", "bench", "examples")


def build_wheel(work: Path) -> Path:
    """``edgekit-<version>-py3-none-any.whl`` of this checkout, built offline (setuptools from the
    test extra, ``--no-build-isolation``) from a copy, so a build never writes into the checkout."""
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=_SOURCE_IGNORE, symlinks=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(work / "dist"), str(source)], check=True, capture_output=True, text=True,
                   env=clean_env())
    (built,) = (work / "dist").glob("edgekit-*.whl")
    return built


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would point Python or edgekit at the
    checkout (PYTHONPATH, EDGEKIT_*), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("EDGEKIT_")}
    env.update(extra)
    return env


def run(*args, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
