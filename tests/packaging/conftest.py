"""Fixtures of the packaging tests: the wheel built from this checkout, clean environments.

The wheel is built offline (``--no-build-isolation``, setuptools from the test extra) from a
copy of the checkout, so a build never writes into the working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from support import ROOT

# The interpreter the test venv was made from (outside any venv: user site and --prefix work).
BASE_PYTHON = Path(getattr(sys, "_base_executable", sys.executable))
# Where this venv's dependencies (TensorFlow, numpy, ...) are, to reuse them without downloading.
VENV_SITE = sysconfig.get_paths()["purelib"]
SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache",
                                       "tests", "bench", "examples")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """``edgekit-<version>-py3-none-any.whl`` of this checkout."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE, symlinks=True)
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
