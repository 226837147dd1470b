"""``evaluate_model``: every output of a model file scored on a labelled SPEC, by its task."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from edgekit.data import Dataset, Preprocess, load_dataset
from edgekit.errors import DataError, UsageError
from edgekit.fileio import existing_path
from edgekit.tasks import Task, infer_task, score, task_for_loss


@dataclass
class EvalResult:
    model: str
    data: str
    kind: str               # "tflite" or "keras"
    samples: int
    correct: int | None     # top-1 hits when the (first) output is a classifier, else None
    accuracy: float | None  # 0..1, likewise
    metrics: dict           # one output: {"task": kind, <metric>: value, ...}; several: {"outputs": {name: {...}}}
    seconds: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate_model(model_path: str | Path, data: Dataset | str | Path, *,
                   preprocess: Preprocess | None = None, limit: int | None = None,
                   loss: str | Sequence[str | None] | None = None) -> EvalResult:
    """Load the model (``.tflite`` or Keras), load ``data`` against it, score every output.

    Each output's task comes from ``loss``: one name for all outputs (a user's choice: an
    unknown name is an error), or one per output as :func:`edgekit.evaluate.compiled_losses`
    gives them for the Keras model a ``.tflite`` came from (None or a custom loss: inferred);
    else from the loss a ``.keras`` file was compiled with; else from the labels
    (:func:`edgekit.tasks.infer_task`).
    """
    started = time.perf_counter()
    model_path = existing_path(model_path)
    if model_path.suffix.lower() == ".tflite":
        from edgekit.evaluate.tflite import TFLiteModel

        model, kind = TFLiteModel(model_path), "tflite"
    else:
        from edgekit.evaluate.keras_model import KerasModel

        model, kind = KerasModel(model_path), "keras"
    dataset = data if isinstance(data, Dataset) else load_dataset(
        data, input_shapes=model.input_shapes, input_names=model.input_names, output_names=model.output_names,
        require_labels=True, limit=limit, preprocess=preprocess)
    labels, names = dataset.labels, model.output_names
    if not labels:
        raise DataError(f"{dataset.source}: no labels 'y'; evaluation needs them")
    if len(labels) != len(names):
        raise DataError(f"{dataset.source}: {len(labels)} label array(s) for the model's {len(names)} outputs "
                        f"({', '.join(names)}); give one per output")
    predictions = model.predict([np.asarray(x, dtype=np.float32) for x in dataset.inputs])
    tasks = output_tasks(loss, model.losses, model.output_shapes, labels)
    metrics = output_metrics(tasks, predictions, labels, names, dataset.source)
    first = next(iter(metrics["outputs"].values())) if "outputs" in metrics else metrics
    return EvalResult(model=str(model_path), data=dataset.source, kind=kind, samples=len(dataset),
                      correct=first.get("correct"), accuracy=first.get("accuracy"), metrics=metrics,
                      seconds=round(time.perf_counter() - started, 3))


def output_metrics(tasks: Sequence[Task], predictions: Sequence[np.ndarray], labels: Sequence[np.ndarray],
                   names: Sequence[str], source: str) -> dict:
    """Every output scored by its task: ``{"task": kind, <metrics>}`` for one output, else
    ``{"outputs": {name: {...}}}`` (the format of :attr:`EvalResult.metrics`)."""
    where = (lambda name: f"{source}: output '{name}'") if len(names) > 1 else (lambda name: source)
    heads = {name: _head(task, np.asarray(out), np.asarray(y), where(name))
             for name, task, out, y in zip(names, tasks, predictions, labels)}
    return next(iter(heads.values())) if len(heads) == 1 else {"outputs": heads}


def output_tasks(loss: str | Sequence[str | None] | None, compiled: Sequence[str | None] | None,
                 output_shapes: Sequence[tuple], labels: Sequence[np.ndarray]) -> list[Task]:
    """The given losses' tasks; else the compiled ones; else inferred from the labels."""
    count = len(output_shapes)
    given = [loss] * count if isinstance(loss, str) else loss
    if given is not None and len(given) != count:
        raise UsageError(f"{len(given)} losses given for a model with {count} outputs; give one per output")
    names = given if given is not None else (compiled or [None] * count)
    return [_named_task(name, strict=isinstance(loss, str)) or infer_task(shape, y)
            for name, shape, y in zip(names, output_shapes, labels)]


def _named_task(name: str | None, *, strict: bool) -> Task | None:
    """The task of a loss name; None without one, or for a custom loss (the labels tell then)."""
    if name is None:
        return None
    try:
        return task_for_loss(name)
    except UsageError:
        if strict:
            raise
        return None


def _head(task: Task, predictions: np.ndarray, labels: np.ndarray, where: str) -> dict:
    """``{"task": kind, <metrics>}``, with the number of hits for a classifier."""
    try:
        metrics = score(task, predictions, labels)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    head: dict = {"task": task.kind, **metrics}
    if task.kind == "classification":
        head["correct"] = round(metrics["accuracy"] * len(labels))
    return head
