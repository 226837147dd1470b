"""Quantization-aware training: fine-tune with int8 rounding in the loop, then hand back a
plain float model whose int8 conversion computes what the QAT model computed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from edgekit.errors import UsageError
from edgekit.optimize.qat.transform import calibrate_ranges, quantize_model, quantizers, strip_qat


@dataclass
class QATConfig:
    """``preserve_clusters``: keep channels with at most N distinct weights on N values (CQAT)."""

    preserve_clusters: int | None = None
    ema_decay: float = 0.99
    calibration_samples: int = 512

    def __post_init__(self) -> None:
        if self.preserve_clusters is not None and self.preserve_clusters < 1:
            raise UsageError(f"QAT: preserve_clusters must be >= 1, got {self.preserve_clusters}")
        if not 0.0 < self.ema_decay < 1.0:
            raise UsageError(f"QAT: ema_decay must be between 0 and 1, got {self.ema_decay}")


@dataclass
class QATResult:
    qat_model: Any          # the trained model with fake quantization (ranges calibrated)
    model: Any              # plain Keras model: BN folded, kernels on the int8 grid
    calibration: np.ndarray | list[np.ndarray]   # give exactly this to the converter
    summary: dict


def quantization_aware_training(model, config: QATConfig, x, y, *, epochs: int, batch_size: int = 32,
                                learning_rate: float = 1e-4, validation: tuple | None = None,
                                calibration=None, progress: Callable[[str], None] = lambda _: None) -> QATResult:
    """Fine-tune ``model`` with fake quantization for ``epochs`` and return the deployable result.

    Pruned zeros stay zero and (with ``preserve_clusters``) clustered channels keep their
    values, because the QAT wrapper trains through a mask and per-channel centroids.
    The activation ranges are finally set from ``calibration`` -- pass the very samples the
    converter will get (e.g. ``load_dataset(spec, limit=N)`` with convert's N); default:
    the first ``config.calibration_samples`` of ``x``. Converting ``result.model`` with
    ``result.calibration`` as representative data then reproduces the QAT ranges exactly.
    """
    from edgekit.models import compile_classifier

    if epochs < 1:
        raise UsageError(f"QAT needs at least one epoch of fine-tuning, got {epochs}")
    qat = quantize_model(model, preserve_clusters=config.preserve_clusters, ema_decay=config.ema_decay)
    compile_classifier(qat, learning_rate)
    progress(f"qat: fine-tuning {epochs} epoch(s) with fake int8 weights and activations")
    qat.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    if calibration is None:
        calibration = _sample(x, config.calibration_samples)
    calibrate_ranges(qat, calibration)
    summary = {"epochs": epochs, "activation_quantizers": len(quantizers(qat)),
               "preserve_clusters": config.preserve_clusters}
    if validation is not None:
        summary["val_accuracy"] = float(qat.evaluate(*validation, verbose=0, batch_size=256)[1])
        progress(f"qat: validation accuracy with int8 simulation {summary['val_accuracy']:.4f}")
    return QATResult(qat, strip_qat(qat), calibration, summary)


def _sample(x, count: int):
    """The first ``count`` samples (deterministic, so the converter sees the same ones)."""
    return [a[:count] for a in x] if isinstance(x, list) else x[:count]
