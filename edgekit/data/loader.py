"""``load_dataset``: a SPEC (file or directory) -> a checked :class:`Dataset`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.data.arrays import ARRAY_SUFFIXES, Labels, read_array_file
from edgekit.data.dataset import Dataset, Preprocess
from edgekit.data.images import IMAGE_SUFFIXES, image_files, load_images
from edgekit.data.shapes import Shape, check_inputs, check_labels
from edgekit.errors import DataError, InputFileError
from edgekit.fileio import existing_path


def load_dataset(spec: str | Path, *, input_shapes: list[Shape] | None = None,
                 input_names: list[str] | None = None, require_labels: bool = False,
                 limit: int | None = None, preprocess: Preprocess | None = None,
                 output_names: list[str] | None = None) -> Dataset:
    """Load ``spec`` and check it against the model's per-sample ``input_shapes``.

    ``output_names`` (the model's, in order) tell which label arrays of a ``.npz`` belong
    to which output: ``y`` for one output, ``y_<name>`` or ``y0, y1, ...`` for several.
    ``limit`` keeps that many samples, chosen by a fixed seed (spread over the whole set,
    in their original order), so calibration is the same on every run.
    """
    path = existing_path(spec)
    if path.is_dir():
        inputs, labels = _read_directory(path, input_shapes, input_names, output_names, preprocess or Preprocess())
    elif path.suffix in ARRAY_SUFFIXES:
        inputs, found = read_array_file(path, input_names, output_names)
        check_inputs(str(path), inputs, input_shapes)
        labels = [check_labels(str(spec), np.asarray(y), len(inputs[0]), key) for key, y in found]
    else:
        raise InputFileError(f"{spec}: not a data SPEC; give a .npz or .npy file, or a directory of "
                             f".npy/.npz files or images ({', '.join(IMAGE_SUFFIXES)})")
    if not labels and require_labels:
        raise DataError(f"{spec}: no labels; " + _how_to_label(output_names))
    if len(inputs[0]) == 0:
        raise DataError(f"{spec}: holds no samples")
    if limit is not None and limit < len(inputs[0]):
        keep = np.sort(np.random.default_rng(0).choice(len(inputs[0]), size=limit, replace=False))
        inputs, labels = [arr[keep] for arr in inputs], [y[keep] for y in labels]
    return Dataset(x=inputs if len(inputs) > 1 else inputs[0],
                   y=(labels if len(labels) > 1 else labels[0]) if labels else None, source=str(spec))


def _how_to_label(output_names: list[str] | None) -> str:
    if output_names and len(output_names) > 1:
        return (f"add arrays {', '.join(f'y_{name}' for name in output_names)} "
                "(or y0, y1, ... in output order) to the .npz, one per model output")
    return ("add an integer array 'y' (one class id per sample) to the .npz, "
            "or put images in one sub-directory per class")


def _read_directory(path: Path, input_shapes: list[Shape] | None, input_names: list[str] | None,
                    output_names: list[str] | None, preprocess: Preprocess
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in ARRAY_SUFFIXES)
    if files:
        return _concatenate(files, input_shapes, input_names, output_names)
    images, labels = image_files(path)
    if not images:
        raise DataError(f"{path}: empty; expected .npy/.npz files or images "
                        f"({', '.join(IMAGE_SUFFIXES)}), optionally in one sub-directory per class")
    if input_shapes is None or len(input_shapes) != 1:
        raise DataError(f"{path}: images can only feed a model with one image input")
    x = load_images(images, tuple(input_shapes[0]), preprocess)
    return [x], [] if labels is None else [np.asarray(labels, dtype=np.int64)]


def _concatenate(files: list[Path], input_shapes: list[Shape] | None, input_names: list[str] | None,
                 output_names: list[str] | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Files in name order, joined along the samples axis; each one checked on its own."""
    parts: list[tuple[Path, list[np.ndarray], Labels]] = []
    for file in files:
        inputs, found = read_array_file(file, input_names, output_names)
        check_inputs(str(file), inputs, input_shapes or _shapes_of(parts))
        labels = [(key, check_labels(str(file), np.asarray(y), len(inputs[0]), key)) for key, y in found]
        parts.append((file, inputs, labels))
    first_file, _, first = parts[0]
    for file, _, labels in parts:
        if [key for key, _ in labels] != [key for key, _ in first]:
            labelled, unlabelled = (first_file, file) if first else (file, first_file)
            if not first or not labels:
                raise DataError(f"{unlabelled}: has no labels 'y' while {labelled} has; label all files or none")
            raise DataError(f"{file}: has label arrays {', '.join(k for k, _ in labels)} while {first_file} has "
                            f"{', '.join(k for k, _ in first)}; name the labels the same in all files")
    inputs = [np.concatenate([p[1][i] for p in parts]) for i in range(len(parts[0][1]))]
    labels = [np.concatenate([p[2][i][1] for p in parts]) for i in range(len(first))]
    return inputs, [y.astype(np.float32) if y.dtype.kind == "f" else y for y in labels]  # int + float files


def _shapes_of(parts: list) -> list[Shape] | None:
    """Without the model's shapes, every file must match the first one."""
    return [arr.shape[1:] for arr in parts[0][1]] if parts else None
