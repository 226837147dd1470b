"""Quantization-aware training for full-int8 TFLite (Keras 3 native; PQAT/CQAT-preserving)."""

from edgekit.lazy import lazy_exports

_API, _TRANSFORM = "edgekit.optimize.qat.api", "edgekit.optimize.qat.transform"
__getattr__ = lazy_exports(__name__, {
    "QATConfig": "edgekit.optimize.qat.config", "QATResult": _API, "quantization_aware_training": _API,
    "finish_qat": _API, "quantize_model": _TRANSFORM, "strip_qat": _TRANSFORM, "calibrate_ranges": _TRANSFORM})
__all__ = ["QATConfig", "QATResult", "quantization_aware_training", "finish_qat", "quantize_model", "strip_qat",
           "calibrate_ranges"]
