"""Settings of the ternary stage (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError
from edgekit.optimize.selector import Selector

# Ternary Weight Networks' rule: weights below 0.7 * mean|w| of their channel become 0,
# which for Gaussian-like weights minimises the distance to the ternary kernel.
DEFAULT_THRESHOLD = 0.7


@dataclass
class TernaryConfig:
    """Kernels to {-a, 0, +a} per output channel; ``include_ends`` also ternarizes the first and last layers."""

    threshold: float = DEFAULT_THRESHOLD
    include_ends: bool = False
    select: Selector = None

    def __post_init__(self) -> None:
        try:
            value = float(self.threshold)
        except (TypeError, ValueError):
            value = float("nan")
        if not 0 < value <= 2:
            raise UsageError(f"ternary threshold must be in (0, 2] (a multiple of each channel's mean |w|; "
                             f"e.g. {DEFAULT_THRESHOLD}), got {self.threshold!r}")
        self.threshold = value

