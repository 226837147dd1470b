"""Reading ``.npz``/``.npy`` files into (inputs, labels)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edgekit.errors import DataError, InputFileError, first_line

ARRAY_SUFFIXES = (".npz", ".npy")
_LABEL_KEY = re.compile(r"y|y\d+|y_.+")

Labels = list[tuple[str, np.ndarray]]  # (array name in the file, labels), one per model output


def read_array_file(path: Path, input_names: list[str] | None = None,
                    output_names: list[str] | None = None) -> tuple[list[np.ndarray], Labels]:
    """Inputs and labels of one file; see calibration/README.md for which arrays are used."""
    if path.suffix == ".npy":
        return [_load(path)], []
    arrays = _load(path)
    return _pick_inputs(path, arrays, input_names), _pick_labels(path, arrays, output_names)


def _load(path: Path):
    """The file's array (.npy) or arrays by name (.npz), read in full here so that a damaged file fails here."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in zipfile, zlib, numpy's header parser, ...
        raise InputFileError(f"{path}: cannot read as {path.suffix} ({first_line(exc)}); "
                             "expected a numpy file written by numpy.save/savez") from None


def _pick_inputs(path: Path, arrays: dict[str, np.ndarray], input_names: list[str] | None) -> list[np.ndarray]:
    """``x``; else ``x0, x1, ...``; else the model's input names; else the one array there is."""
    if "x" in arrays:
        return [arrays["x"]]
    numbered = _numbered(arrays, "x")
    if numbered:
        return [arrays[name] for name in numbered]
    if input_names and all(name in arrays for name in input_names):
        return [arrays[name] for name in input_names]
    others = [name for name in arrays if not _LABEL_KEY.fullmatch(name)]
    if len(others) == 1:
        return [arrays[others[0]]]
    if not others:
        raise DataError(f"{path}: no input arrays; expected an array named 'x'")
    wanted = "'x' (or x0, x1, ...)" + (f" or {', '.join(input_names)}" if input_names else "")
    raise DataError(f"{path}: cannot tell which arrays are the inputs: found {', '.join(sorted(others))}; "
                    f"expected {wanted}")


def _pick_labels(path: Path, arrays: dict[str, np.ndarray], output_names: list[str] | None) -> Labels:
    """``y`` for one output; ``y_<output name>`` or ``y0, y1, ...`` (output order) for several.

    Without the model's output names, ``y_<name>`` arrays are taken in the file's order.
    """
    present = [name for name in arrays if _LABEL_KEY.fullmatch(name)]
    if not present:
        return []
    outputs = output_names or [name[2:] for name in present if name.startswith("y_")]
    named = [f"y_{name}" for name in outputs]
    if output_names is None or len(output_names) == 1:
        choices = (["y"], named, _numbered(arrays, "y"))
    else:
        choices = (named, _numbered(arrays, "y"))
    keys = next((keys for keys in choices if keys and all(key in arrays for key in keys)), None)
    if output_names and (keys is None or len(keys) != len(output_names)):
        found = ", ".join(present)
        if len(output_names) == 1:
            raise DataError(f"{path}: found label arrays {found} for a model with one output; give one array 'y'")
        missing = next((key for key in named if key not in arrays), named[0])
        numbers = ", ".join(f"y{i}" for i in range(len(output_names)))
        raise DataError(f"{path}: no label array '{missing}' for the model's output '{missing[2:]}' (found {found}); "
                        f"give {', '.join(named)} (or {numbers} in output order)")
    if keys is None:
        raise DataError(f"{path}: cannot tell which arrays are the labels: found {', '.join(present)}; "
                        "expected 'y', or y0, y1, ... in output order")
    return [(key, arrays[key]) for key in keys]


def _numbered(arrays: dict[str, np.ndarray], prefix: str) -> list[str]:
    """``x0, x1, ...`` (or ``y0, ...``) when they are numbered from 0 without gaps, else []."""
    numbered = [f"{prefix}{i}" for i in range(len(arrays)) if f"{prefix}{i}" in arrays]
    return numbered if numbered == [f"{prefix}{i}" for i in range(len(numbered))] else []
