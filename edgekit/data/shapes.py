"""Checking arrays against a model's inputs, so mismatches name the file and both shapes."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edgekit.errors import DataError

Shape = tuple  # per-sample shape, ``None`` for a free dimension


def fmt_shape(shape: Sequence) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def shape_matches(expected: Shape, found: Shape) -> bool:
    return len(expected) == len(found) and all(e is None or e == f for e, f in zip(expected, found))


def check_inputs(where: str, inputs: list[np.ndarray], input_shapes: list[Shape] | None) -> None:
    """Raise DataError unless ``inputs`` are numeric and fit ``input_shapes`` per sample."""
    if input_shapes is not None and len(inputs) != len(input_shapes):
        raise DataError(f"{where}: the model has {len(input_shapes)} inputs, found {len(inputs)} input "
                        "array(s); name them x0, x1, ... or after the model's inputs")
    for i, arr in enumerate(inputs):
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise DataError(f"{where}: expected numeric input arrays, found dtype {arr.dtype}")
        if arr.ndim == 0:
            raise DataError(f"{where}: expected an array of samples, found a scalar")
        if input_shapes is not None and not shape_matches(tuple(input_shapes[i]), arr.shape[1:]):
            which = f" for input {i}" if len(input_shapes) > 1 else ""
            raise DataError(f"{where}: expected shape {fmt_shape(input_shapes[i])} per sample{which}, "
                            f"found {fmt_shape(arr.shape[1:])}")
        _check_finite(where, arr)
    counts = {len(arr) for arr in inputs}
    if len(counts) > 1:
        raise DataError(f"{where}: input arrays have different numbers of samples: {sorted(counts)}")


def _check_finite(where: str, arr: np.ndarray) -> None:
    """NaN/inf inputs quantize to nothing sensible: name the file and the first bad sample, not a converter error."""
    if not np.issubdtype(arr.dtype, np.floating) or len(arr) == 0:
        return
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    if bad.any():
        raise DataError(f"{where}: {int(bad.sum())} sample(s) contain NaN or infinity (first: sample "
                        f"{int(np.argmax(bad))}); remove or fix them")


def check_labels(where: str, y: np.ndarray, samples: int, key: str = "y") -> np.ndarray:
    """Labels as int64 (class ids, 0/1 flags) or float32 (values); DataError unless one per sample."""
    if y.ndim == 0:
        raise DataError(f"{where}: expected labels '{key}' with one entry per sample, found a scalar")
    if len(y) != samples:
        raise DataError(f"{where}: {samples} input samples but {len(y)} labels")
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind != "f":
        raise DataError(f"{where}: expected numeric labels (class ids or values) in '{key}', found dtype {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise DataError(f"{where}: labels '{key}' contain NaN or infinity")
    return y.astype(np.float32)
