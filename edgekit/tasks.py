"""What a model output predicts, and how its predictions are scored.

A :class:`Task` pairs the kind of an output (one class per sample, independent 0/1 per
unit, or real values) with the loss it is trained with; the kind decides the metric.
numpy only: the trainer, the evaluator and the budgets share these rules without
importing TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgekit.data.shapes import fmt_shape
from edgekit.errors import DataError, UsageError
from edgekit.vocab import LOSSES

TASK_KINDS = ("classification", "multilabel", "regression")

_KIND_OF_LOSS = {"sparse_categorical_crossentropy": "classification", "categorical_crossentropy": "classification",
                 "binary_crossentropy": "multilabel", "mse": "regression", "mae": "regression"}
# Keras spellings (functions, classes, short names) folded to lower case without underscores.
_ALIASES = {"sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
            "categoricalcrossentropy": "categorical_crossentropy",
            "binarycrossentropy": "binary_crossentropy",
            "mse": "mse", "meansquarederror": "mse",
            "mae": "mae", "meanabsoluteerror": "mae"}
_METRIC = {"classification": "accuracy", "multilabel": "binary_accuracy", "regression": "mae"}


@dataclass(frozen=True)
class Task:
    """The kind of one model output and the loss it is trained with."""

    kind: str  # "classification": one class per sample; "multilabel": independent 0/1 per unit; "regression"
    loss: str  # one of LOSSES

    def __post_init__(self) -> None:
        if self.loss not in LOSSES or _KIND_OF_LOSS[self.loss] != self.kind:
            raise UsageError(f"task {self.kind!r} cannot be trained with loss {self.loss!r}; "
                             f"losses: {', '.join(LOSSES)}")

    @property
    def metric(self) -> str:
        """The headline metric: ``accuracy``, ``binary_accuracy`` or ``mae``."""
        return _METRIC[self.kind]

    @property
    def higher_is_better(self) -> bool:
        return self.kind != "regression"


def task_for_loss(loss: str) -> Task:
    """The task a Keras loss name trains (``"mse"``, ``"mean_squared_error"``, ``"MeanSquaredError"``, ...)."""
    name = _ALIASES.get(str(loss).lower().replace("_", ""))
    if name is None:
        raise UsageError(f"unknown loss {loss!r}; give one of {', '.join(LOSSES)}")
    return Task(_KIND_OF_LOSS[name], name)


def infer_task(output_shape: tuple, labels: np.ndarray) -> Task:
    """The task of an output whose loss is unknown, from its per-sample shape and the labels.

    ``output_shape`` is the output's shape per sample (no batch dimension), ``labels`` the
    labels of all samples. Integer class ids (one per sample, or per position) for an output
    of >= 2 units -> classification; labels of the output's shape that are one-hot rows ->
    classification, other 0/1 rows -> multilabel; 0/1 labels for a one-unit output ->
    multilabel (binary); anything else -> regression.
    """
    output_shape = tuple(output_shape)
    labels = np.asarray(labels)
    per_sample = labels.shape[1:]
    units = output_shape[-1] if output_shape else 1
    integral = labels.dtype.kind in "biu" or (labels.dtype.kind == "f" and bool(np.all(np.mod(labels, 1) == 0)))
    binary = integral and bool(np.all((labels == 0) | (labels == 1)))
    if units is None or units >= 2:
        if integral and per_sample in (output_shape[:-1], output_shape[:-1] + (1,)):
            return Task("classification", "sparse_categorical_crossentropy")
        if binary and per_sample == output_shape:
            one_hot = bool(np.all(labels.sum(axis=-1) == 1))
            return (Task("classification", "categorical_crossentropy") if one_hot
                    else Task("multilabel", "binary_crossentropy"))
    elif binary and per_sample in ((), (1,)):
        return Task("multilabel", "binary_crossentropy")
    return Task("regression", "mse")


def headline(metrics: dict) -> tuple[str, float]:
    """``(name, value)`` of the first output's headline metric in an evaluation's metrics dict
    (``{"task": ..., ...}``, or ``{"outputs": {name: {...}}}`` for several outputs)."""
    head = next(iter(metrics["outputs"].values())) if "outputs" in metrics else metrics
    name = _METRIC[head["task"]]
    return name, float(head[name])


def score(task: Task, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The metrics of ``task`` for one output: ``accuracy``; ``binary_accuracy``; or ``mse`` and ``mae``.

    Raises DataError (without a file name: the caller adds it) if the labels do not fit.
    """
    predictions = np.asarray(predictions, dtype=np.float32)
    labels = np.asarray(labels)
    if len(predictions) != len(labels):
        raise DataError(f"{len(labels)} labels for {len(predictions)} predictions")
    if task.kind == "classification":
        return {"accuracy": float(np.mean(np.argmax(predictions, axis=-1) == _class_ids(predictions, labels)))}
    labels = _like(predictions, labels, task.kind)
    if task.kind == "multilabel":
        threshold = 0.5 if predictions.min() >= 0 and predictions.max() <= 1 else 0.0  # probabilities or logits
        return {"binary_accuracy": float(np.mean((predictions > threshold) == (labels > 0.5)))}
    error = predictions - labels.astype(np.float32)
    return {"mse": float(np.mean(np.square(error))), "mae": float(np.mean(np.abs(error)))}


def _class_ids(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sparse class ids from sparse (optionally with a trailing 1) or one-hot labels."""
    if predictions.ndim < 2 or predictions.shape[-1] < 2:
        raise DataError(f"classification needs an output of shape (samples, classes), "
                        f"the model gives {fmt_shape(predictions.shape)}")
    if labels.shape == predictions.shape:
        return np.argmax(labels, axis=-1)
    if labels.shape[1:] == predictions.shape[1:-1] + (1,):
        labels = labels[..., 0]
    if labels.shape[1:] != predictions.shape[1:-1]:
        raise DataError(f"labels of shape {fmt_shape(labels.shape)} fit neither class ids nor one-hot rows "
                        f"for an output of shape {fmt_shape(predictions.shape)}")
    if labels.min() < 0 or labels.max() >= predictions.shape[-1]:
        raise DataError(f"labels range {labels.min():g}..{labels.max():g} but the model has "
                        f"{predictions.shape[-1]} classes")
    return labels


def _like(predictions: np.ndarray, labels: np.ndarray, kind: str) -> np.ndarray:
    """``labels`` in the shape of ``predictions`` ((n,) labels for an (n, 1) output and the like)."""
    if labels.size != predictions.size:
        raise DataError(f"{kind} labels of shape {fmt_shape(labels.shape)} do not fit an output of shape "
                        f"{fmt_shape(predictions.shape)}")
    return labels.reshape(predictions.shape)
