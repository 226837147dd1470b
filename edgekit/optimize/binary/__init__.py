"""The binary stage: kernels trained to {-a, +a} per output channel (the low-bit machinery: ``lowbit/``)."""

from edgekit.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"BinaryConfig": "edgekit.optimize.binary.config"})
__all__ = ["BinaryConfig"]
