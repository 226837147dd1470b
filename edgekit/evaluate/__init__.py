"""Top-1 accuracy of a ``.tflite`` or Keras model on labelled data."""

from edgekit.evaluate.accuracy import EvalResult, evaluate_model

__all__ = ["EvalResult", "evaluate_model"]
