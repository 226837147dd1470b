"""The two value types of :mod:`edgekit.data`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.errors import UsageError


@dataclass(frozen=True)
class Preprocess:
    """How raw image pixels (0..255) become model inputs; arrays are taken as they are."""

    scale: float | None = None  # x * scale
    mean: float | None = None   # (x - mean) / std
    std: float | None = None

    def __post_init__(self) -> None:
        if self.scale is not None and (self.mean is not None or self.std is not None):
            raise UsageError("--scale and --mean/--std exclude each other; give one of them")
        if (self.mean is None) != (self.std is None):
            raise UsageError("--mean and --std go together; give both")
        if self.std == 0:
            raise UsageError("--std must not be 0")

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        x = pixels.astype(np.float32)
        if self.scale is not None:
            return x * np.float32(self.scale)
        if self.mean is not None:
            return (x - np.float32(self.mean)) / np.float32(self.std)
        return x


@dataclass
class Dataset:
    """Model inputs and (optional) labels loaded from a SPEC."""

    x: np.ndarray | list[np.ndarray]         # list when the model has several inputs
    y: np.ndarray | list[np.ndarray] | None  # int64 class ids / 0-1 flags or float32 values;
                                             # list when the model has several outputs
    source: str                              # the SPEC, for messages

    @property
    def inputs(self) -> list[np.ndarray]:
        """The inputs as a list, one array per model input."""
        return list(self.x) if isinstance(self.x, list) else [self.x]

    @property
    def labels(self) -> list[np.ndarray]:
        """The labels as a list, one array per model output; [] when unlabelled."""
        if self.y is None:
            return []
        return list(self.y) if isinstance(self.y, list) else [self.y]

    def __len__(self) -> int:
        return len(self.inputs[0])
