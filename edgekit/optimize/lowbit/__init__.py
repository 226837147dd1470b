"""Ternary and binary weights: kernels trained to {-a, 0, +a} or {-a, +a} per output channel.

The machinery the ternary and binary stages share; each stage is its own folder
(``optimize/ternary/``, ``optimize/binary/``).
"""

from edgekit.lazy import lazy_exports

_API = "edgekit.optimize.lowbit.api"
__getattr__ = lazy_exports(__name__, {
    "quantize_weights": _API, "strip_lowbit": _API, "end_layers": _API,
    "LowBitWeights": "edgekit.optimize.lowbit.wrapper", "low_bit": "edgekit.optimize.lowbit.levels",
    "TernaryConfig": "edgekit.optimize.ternary.config", "BinaryConfig": "edgekit.optimize.binary.config"})
__all__ = ["BinaryConfig", "LowBitWeights", "TernaryConfig", "end_layers", "low_bit", "quantize_weights",
           "strip_lowbit"]
