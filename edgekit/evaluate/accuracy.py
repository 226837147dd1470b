"""``evaluate_model``: top-1 accuracy of a model file on a labelled SPEC."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.data import Dataset, Preprocess, load_dataset
from edgekit.errors import DataError, UsageError
from edgekit.fileio import existing_path


@dataclass
class EvalResult:
    model: str
    data: str
    kind: str          # "tflite" or "keras"
    samples: int
    correct: int
    accuracy: float    # 0..1
    seconds: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate_model(model_path: str | Path, data: Dataset | str | Path, *,
                   preprocess: Preprocess | None = None, limit: int | None = None) -> EvalResult:
    """Load the model (``.tflite`` or Keras), load ``data`` against its inputs, count top-1 hits."""
    started = time.perf_counter()
    model_path = existing_path(model_path)
    if model_path.suffix.lower() == ".tflite":
        from edgekit.evaluate.tflite import TFLiteModel

        model, kind = TFLiteModel(model_path), "tflite"
        shapes, names, predict = model.input_shapes, model.input_names, model.predict
    else:
        from edgekit.convert import input_signature, load_keras_model

        keras_model, kind = load_keras_model(model_path), "keras"
        shapes, names = input_signature(keras_model)
        predict = lambda inputs: _first(keras_model.predict(  # noqa: E731
            inputs if len(inputs) > 1 else inputs[0], batch_size=256, verbose=0))
    dataset = data if isinstance(data, Dataset) else load_dataset(
        data, input_shapes=shapes, input_names=names, require_labels=True, limit=limit, preprocess=preprocess)
    if dataset.y is None:
        raise DataError(f"{dataset.source}: no labels 'y'; accuracy needs them")
    scores = np.asarray(predict([np.asarray(x, dtype=np.float32) for x in dataset.inputs]))
    correct = int(np.sum(top1(scores, dataset.y, str(model_path)) == dataset.y))
    return EvalResult(model=str(model_path), data=dataset.source, kind=kind, samples=len(dataset),
                      correct=correct, accuracy=correct / len(dataset),
                      seconds=round(time.perf_counter() - started, 3))


def _first(outputs):
    """The first output of a model with several (as for .tflite models)."""
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def top1(scores: np.ndarray, labels: np.ndarray, where: str) -> np.ndarray:
    """The predicted class per sample; UsageError if the output is not (samples, classes)."""
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise UsageError(f"{where}: top-1 accuracy needs a classifier output of shape (samples, classes), "
                         f"the model gives {tuple(scores.shape)}")
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise DataError(f"{where}: labels range {labels.min()}..{labels.max()} but the model has "
                        f"{scores.shape[1]} classes")
    return np.argmax(scores, axis=1)
