"""Settings of the binary stage (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.optimize.selector import Selector


@dataclass
class BinaryConfig:
    """Kernels to {-a, +a} per output channel; ``include_ends`` also binarizes the first and last layers."""

    include_ends: bool = False
    select: Selector = None
