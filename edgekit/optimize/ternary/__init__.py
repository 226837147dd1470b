"""The ternary stage: kernels trained to {-a, 0, +a} per output channel (the low-bit machinery: ``lowbit/``)."""

from edgekit.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"TernaryConfig": "edgekit.optimize.ternary.config"})
__all__ = ["TernaryConfig"]
