"""Settings of the qat stage (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgekit.errors import UsageError


@dataclass
class QATConfig:
    """``preserve_clusters``: keep channels with at most N distinct weights on N values (CQAT).

    ``calibration``: the representative samples the converter will be given (e.g.
    ``load_dataset(spec, limit=N).x`` with convert's N); the final activation ranges are
    measured on them so the converter reproduces them exactly. None: the first
    ``calibration_samples`` training samples.
    """

    preserve_clusters: int | None = None
    ema_decay: float = 0.99
    calibration_samples: int = 512
    calibration: Any = None

    def __post_init__(self) -> None:
        if self.preserve_clusters is not None and self.preserve_clusters < 1:
            raise UsageError(f"QAT: preserve_clusters must be >= 1, got {self.preserve_clusters}")
        if not 0.0 < self.ema_decay < 1.0:
            raise UsageError(f"QAT: ema_decay must be between 0 and 1, got {self.ema_decay}")

    def representative(self, x):
        """The calibration samples: the configured ones, else the first ones of ``x``."""
        if self.calibration is not None:
            return self.calibration
        return [a[:self.calibration_samples] for a in x] if isinstance(x, list) else x[:self.calibration_samples]
