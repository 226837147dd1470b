"""Scoring a ``.tflite`` or Keras model on labelled data: accuracy, binary accuracy or MSE/MAE per output."""

from edgekit.evaluate.evaluation import EvalResult, evaluate_model
from edgekit.evaluate.losses import compiled_losses, saved_losses

__all__ = ["EvalResult", "compiled_losses", "evaluate_model", "saved_losses"]
