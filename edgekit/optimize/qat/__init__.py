"""Quantization-aware training for full-int8 TFLite (Keras 3 native; PQAT/CQAT-preserving)."""

from edgekit.optimize.qat.api import QATConfig, QATResult, finish_qat, quantization_aware_training
from edgekit.optimize.qat.transform import calibrate_ranges, quantize_model, strip_qat

__all__ = ["QATConfig", "QATResult", "quantization_aware_training", "finish_qat", "quantize_model", "strip_qat",
           "calibrate_ranges"]
