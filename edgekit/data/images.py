"""Directories of PNG/JPEG images -> model inputs, labelled by class sub-directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.data.dataset import Preprocess
from edgekit.data.shapes import Shape, fmt_shape
from edgekit.errors import DataError, InputFileError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def image_files(directory: Path) -> tuple[list[Path], list[int] | None]:
    """The images of ``directory`` in name order; labels when they sit in class sub-directories."""
    top = sorted(p for p in directory.iterdir() if is_image(p))
    classes = sorted(p for p in directory.iterdir() if p.is_dir())  # every folder is a class, empty or not
    nested = [sorted(f for f in folder.iterdir() if is_image(f)) for folder in classes]
    if top and any(nested):
        raise DataError(f"{directory}: has images both at the top and in sub-directories; put all of them "
                        "in one sub-directory per class, or all at the top (unlabelled)")
    if top:
        return top, None
    files = [f for members in nested for f in members]
    labels = [label for label, members in enumerate(nested) for _ in members]
    return files, labels


def load_images(files: list[Path], input_shape: Shape, preprocess: Preprocess) -> np.ndarray:
    """Read, convert to the input's channels, resize to its H×W and preprocess each image."""
    if len(input_shape) != 3 or None in input_shape or input_shape[2] not in (1, 3):
        raise DataError(f"images need a model input of shape (height, width, 1 or 3); this model's input "
                        f"is {fmt_shape(input_shape)}; give the data as .npy/.npz arrays instead")
    height, width, channels = input_shape
    return np.stack([preprocess.apply(_read(path, width, height, channels)) for path in files])


def _read(path: Path, width: int, height: int, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32)
    except (OSError, UnidentifiedImageError) as exc:
        raise InputFileError(f"{path}: cannot read as an image ({exc})") from None
    return pixels.reshape(height, width, channels)
