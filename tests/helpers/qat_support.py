"""Helpers for the QAT tests (import as ``from qat_support import ...``)."""

from __future__ import annotations


def copy_model(model):
    import keras

    from edgekit.models import compile_classifier

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return compile_classifier(clone)


def int8_tflite(model, calibration) -> bytes:
    """Full-int8 conversion (calibrate + quantize, exactly what the converter does in one go)."""
    from edgekit.convert import selective

    return selective.quantize(selective.calibrate(model, calibration))
