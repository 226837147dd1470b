"""A Keras model file behind the same small interface as :class:`~edgekit.evaluate.tflite.TFLiteModel`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.evaluate.losses import output_names, saved_losses


class KerasModel:
    """Input/output signature, compiled losses and batch prediction of a Keras model file."""

    def __init__(self, path: Path):
        from edgekit.convert.keras_loader import input_signature, load_keras_model

        self._model = load_keras_model(path)
        self.input_shapes, self.input_names = input_signature(self._model)
        self.output_names = output_names(self._model)
        self.output_shapes = [tuple(t.shape[1:]) for t in self._model.outputs]
        self.losses = saved_losses(path, self.output_names)

    def predict(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Every output for all samples, in output order."""
        outputs = self._model.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=256, verbose=0)
        if isinstance(outputs, dict):  # Keras orders a dict of outputs (and output_names) by key
            return [np.asarray(outputs[key]) for key in sorted(outputs)]
        return [np.asarray(out) for out in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
