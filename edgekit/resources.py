"""Where edgekit's bundled files are: device profiles and demo data.

They are package data (``edgekit/bundled/targets``, ``edgekit/bundled/calibration``) read
through :mod:`importlib.resources`, so they are found wherever pip put the package: a venv,
``pip install --user``, ``--prefix``, Debian's ``/usr/local`` or an editable checkout (whose
top-level ``targets/`` and ``calibration/`` are links to the same folders).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _bundled(name: str) -> Path:
    folder = files("edgekit").joinpath("bundled", name)
    # Profiles are globbed and data files memory-mapped, so they must be real files on disk
    # (they are for every wheel or editable install; a zipped edgekit is not supported).
    if not isinstance(folder, Path) or not folder.is_dir():
        raise FileNotFoundError(f"edgekit's bundled '{name}' folder is missing ({folder}); reinstall edgekit")
    return folder


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
