"""Reading ``.npz``/``.npy`` files into (inputs, labels)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from edgekit.errors import DataError, InputFileError

ARRAY_SUFFIXES = (".npz", ".npy")


def read_array_file(path: Path, input_names: list[str] | None = None
                    ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Inputs and labels of one file; see calibration/README.md for which arrays are used."""
    if path.suffix == ".npy":
        return [_load(path)], None
    arrays = _load(path)
    return _pick_inputs(path, arrays, input_names), arrays.get("y")


def _load(path: Path):
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"{path}: cannot read as {path.suffix} ({exc}); "
                             "expected a numpy file written by numpy.save/savez") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        return {name: loaded[name] for name in loaded.files}


def _pick_inputs(path: Path, arrays: dict[str, np.ndarray], input_names: list[str] | None) -> list[np.ndarray]:
    """``x``; else ``x0, x1, ...``; else the model's input names; else the one array there is."""
    if "x" in arrays:
        return [arrays["x"]]
    numbered = [f"x{i}" for i in range(len(arrays)) if f"x{i}" in arrays]
    if numbered and numbered == [f"x{i}" for i in range(len(numbered))]:
        return [arrays[name] for name in numbered]
    if input_names and all(name in arrays for name in input_names):
        return [arrays[name] for name in input_names]
    others = [name for name in arrays if name != "y"]
    if len(others) == 1:
        return [arrays[others[0]]]
    if not others:
        raise DataError(f"{path}: no input arrays; expected an array named 'x'")
    wanted = "'x' (or x0, x1, ...)" + (f" or {', '.join(input_names)}" if input_names else "")
    raise DataError(f"{path}: cannot tell which arrays are the inputs: found {', '.join(sorted(others))}; "
                    f"expected {wanted}")
