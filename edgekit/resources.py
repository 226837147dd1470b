"""Where edgekit's bundled files are: device profiles (targets/) and demo data (calibration/).

In a source checkout (or an editable install) they are the repository's top-level
folders; a wheel installs them under ``<prefix>/share/edgekit``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _bundled(name: str) -> Path:
    for candidate in (_REPO_ROOT / name, Path(sys.prefix) / "share" / "edgekit" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edgekit's bundled '{name}' folder is missing; reinstall edgekit")


def targets_dir() -> Path:
    """The folder of bundled device profiles (``*.toml``)."""
    return _bundled("targets")


def calibration_dir() -> Path:
    """The folder of bundled data sets (``digits*.npz``)."""
    return _bundled("calibration")


def digits_path(split: str = "all") -> Path:
    """The shipped scikit-learn digits set: ``all``, ``train`` (80%) or ``val`` (20%)."""
    name = {"all": "digits.npz", "train": "digits_train.npz", "val": "digits_val.npz"}[split]
    return calibration_dir() / name
