"""Quantization-aware training: fine-tune with int8 rounding in the loop, then hand back a
plain float model whose int8 conversion computes what the QAT model computed.

Like pruning and clustering it is wrap -> fit -> strip: :func:`quantize_model` wraps,
the caller fits (the optimize engine's trainer, with the model's loss and callbacks), and
:func:`finish_qat` sets the final ranges and strips. :func:`quantization_aware_training`
does all three for a classifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from edgekit.errors import UsageError
from edgekit.optimize.qat.config import QATConfig
from edgekit.optimize.qat.transform import calibrate_ranges, quantize_model, quantizers, strip_qat


@dataclass
class QATResult:
    qat_model: Any          # the trained model with fake quantization (ranges calibrated)
    model: Any              # plain Keras model: BN folded, kernels on the int8 grid
    calibration: np.ndarray | list[np.ndarray]   # give exactly this to the converter
    summary: dict


def finish_qat(qat_model, calibration) -> QATResult:
    """Set every activation range to what the converter will measure on ``calibration``, and strip."""
    calibrate_ranges(qat_model, calibration)
    summary = {"activation_quantizers": len(quantizers(qat_model))}
    return QATResult(qat_model, strip_qat(qat_model), calibration, summary)


def quantization_aware_training(model, config: QATConfig, x, y, *, epochs: int, batch_size: int = 32,
                                learning_rate: float = 1e-4,
                                progress: Callable[[str], None] = lambda _: None) -> QATResult:
    """Fine-tune classifier ``model`` (logits out) with fake quantization and return the deployable result.

    Pruned zeros stay zero and (with ``preserve_clusters``) clustered channels keep their
    values, because the QAT wrapper trains through a mask and per-channel centroids.
    """
    from edgekit.models import compile_classifier

    if epochs < 1:
        raise UsageError(f"QAT needs at least one epoch of fine-tuning, got {epochs}")
    qat = quantize_model(model, preserve_clusters=config.preserve_clusters, ema_decay=config.ema_decay)
    compile_classifier(qat, learning_rate)
    progress(f"qat: fine-tuning {epochs} epoch(s) with fake int8 weights and activations")
    qat.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return finish_qat(qat, config.representative(x))
