"""``load_dataset``: a SPEC (file or directory) -> a checked :class:`Dataset`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.data.arrays import ARRAY_SUFFIXES, read_array_file
from edgekit.data.dataset import Dataset, Preprocess
from edgekit.data.images import IMAGE_SUFFIXES, image_files, load_images
from edgekit.data.shapes import Shape, check_inputs, check_labels
from edgekit.errors import DataError, InputFileError
from edgekit.fileio import existing_path


def load_dataset(spec: str | Path, *, input_shapes: list[Shape] | None = None,
                 input_names: list[str] | None = None, require_labels: bool = False,
                 limit: int | None = None, preprocess: Preprocess | None = None) -> Dataset:
    """Load ``spec`` and check it against the model's per-sample ``input_shapes``.

    ``limit`` keeps that many samples, chosen by a fixed seed (spread over the whole set,
    in their original order), so calibration is the same on every run.
    """
    path = existing_path(spec)
    if path.is_dir():
        inputs, y = _read_directory(path, input_shapes, input_names, preprocess or Preprocess())
    elif path.suffix in ARRAY_SUFFIXES:
        inputs, y = read_array_file(path, input_names)
        check_inputs(str(path), inputs, input_shapes)
    else:
        raise InputFileError(f"{spec}: not a data SPEC; give a .npz or .npy file, or a directory of "
                             f".npy/.npz files or images ({', '.join(IMAGE_SUFFIXES)})")
    if y is not None:
        y = check_labels(str(spec), np.asarray(y), len(inputs[0]))
    elif require_labels:
        raise DataError(f"{spec}: no labels; add an integer array 'y' (one class id per sample) to the .npz, "
                        "or put images in one sub-directory per class")
    if len(inputs[0]) == 0:
        raise DataError(f"{spec}: holds no samples")
    if limit is not None and limit < len(inputs[0]):
        keep = np.sort(np.random.default_rng(0).choice(len(inputs[0]), size=limit, replace=False))
        inputs, y = [arr[keep] for arr in inputs], (None if y is None else y[keep])
    return Dataset(x=inputs if len(inputs) > 1 else inputs[0], y=y, source=str(spec))


def _read_directory(path: Path, input_shapes: list[Shape] | None, input_names: list[str] | None,
                    preprocess: Preprocess) -> tuple[list[np.ndarray], np.ndarray | None]:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in ARRAY_SUFFIXES)
    if files:
        return _concatenate(files, input_shapes, input_names)
    images, labels = image_files(path)
    if not images:
        raise DataError(f"{path}: empty; expected .npy/.npz files or images "
                        f"({', '.join(IMAGE_SUFFIXES)}), optionally in one sub-directory per class")
    if input_shapes is None or len(input_shapes) != 1:
        raise DataError(f"{path}: images can only feed a model with one image input")
    x = load_images(images, tuple(input_shapes[0]), preprocess)
    return [x], None if labels is None else np.asarray(labels, dtype=np.int64)


def _concatenate(files: list[Path], input_shapes: list[Shape] | None, input_names: list[str] | None
                 ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Files in name order, joined along the samples axis; each one checked on its own."""
    parts = []
    for file in files:
        inputs, y = read_array_file(file, input_names)
        check_inputs(str(file), inputs, input_shapes or _shapes_of(parts))
        if y is not None:
            check_labels(str(file), np.asarray(y), len(inputs[0]))
        parts.append((file, inputs, y))
    labelled = [file for file, _, y in parts if y is not None]
    if labelled and len(labelled) != len(parts):
        missing = next(file for file, _, y in parts if y is None)
        raise DataError(f"{missing}: has no labels 'y' while {labelled[0]} has; label all files or none")
    inputs = [np.concatenate([p[1][i] for p in parts]) for i in range(len(parts[0][1]))]
    y = np.concatenate([p[2] for p in parts]) if labelled else None
    return inputs, y


def _shapes_of(parts: list) -> list[Shape] | None:
    """Without the model's shapes, every file must match the first one."""
    return [arr.shape[1:] for arr in parts[0][1]] if parts else None
