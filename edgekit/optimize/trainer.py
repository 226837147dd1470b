"""The one fine-tuning hook every stage trains through, with the model's own loss.

A stage wraps the model and calls :meth:`Trainer.fit`; what the model is trained *for* is
decided once, from the model the user gave: its own compiled loss, metrics and loss
weights when the file was saved compiled; else the ``--loss`` names (one for every
output, or one per output); else a loss inferred from each output and its labels (integer
class ids -> sparse cross-entropy, floats -> MSE, ...). Multi-output models get a loss per
output. A stage with its own objective (distillation) passes ``loss=`` to :meth:`fit`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import keras
import numpy as np

from edgekit.convert.keras_loader import output_names
from edgekit.errors import DataError, UsageError
from edgekit.evaluate.losses import loss_name, per_output
from edgekit.optimize.finetune import Finetune
from edgekit.optimize.learning_rate import choose_learning_rate, range_test
from edgekit.optimize.stages import Step
from edgekit.evaluate.evaluation import output_metrics, output_tasks
from edgekit.tasks import Task


PATIENCE = 2  # scored epochs without improvement before BestEpochs stops the fine-tuning


class Trainer:
    """Fine-tunes models derived from ``model`` on ``train`` (an :class:`edgekit.data.Dataset`)."""

    def __init__(self, model: keras.Model, train, finetune: Finetune, *,
                 progress: Callable[[str], None] = lambda message: None, calibration=None,
                 compile_config: dict | None = None):
        """``compile_config``: the serialized ``compile()`` arguments the model file was saved with
        (models are loaded uncompiled); default: those of ``model`` if it is compiled."""
        self.train, self.finetune, self.progress, self.calibration = train, finetune, progress, calibration
        self.output_names = output_names(model)
        self.labels = _labels(train, len(model.outputs))
        self.done: list[Step] = []
        self.reports: dict[str, dict] = {}    # stage name -> what it did (the summary's per-stage "report")
        if compile_config is None and getattr(model, "compiled", False):
            compile_config = model.get_compile_config()
        self._compiled = compile_config if compile_config and not finetune.loss else None
        self.tasks = self._chosen_tasks(model)
        if self._compiled is None:
            self._losses = [_LOSSES[task.loss](_on_logits(model, i, task)) for i, task in enumerate(self.tasks)]
        check_labels(model, train, self.tasks, "training")
        self.learning_rate = choose_learning_rate(finetune.learning_rate, compile_config, lambda: range_test(
            model, self._compile, train.x, _single(self.labels), finetune.batch_size, finetune.seed))
        if finetune.learning_rate is None:
            progress(f"fine-tuning at learning rate {self.learning_rate.value:.3g} ({self.learning_rate.source})")
        self.stopping: Callable[[int], keras.callbacks.Callback] | None = None  # see fit()
        self.epochs_run = 0                   # epochs the last fit() ran

    @property
    def epochs(self) -> int:
        return self.finetune.epochs

    @property
    def seed(self) -> int:
        return self.finetune.seed

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.train) // self.finetune.batch_size)

    def earlier(self, stage: str) -> Any | None:
        """The config of an earlier stage of this run, or None (QAT keeps the cluster stage's N)."""
        return next((step.config for step in self.done if step.stage == stage), None)

    def fit(self, model: keras.Model, *, callbacks: Sequence[keras.callbacks.Callback] = (), loss=None) -> None:
        """Compile ``model`` with the run's objective (or ``loss``) and train it for the configured epochs.

        With ``stopping`` set (an accuracy budget: :mod:`edgekit.optimize.budget`), the
        callback it makes may train on past the configured epochs and restore the best ones.
        """
        self._compile(model, self.learning_rate.value, loss)
        stopping = self.stopping(self.epochs) if self.stopping is not None else None
        report = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: self.progress(
            f"  epoch {epoch + 1}/{self.epochs}: " + _format_logs(logs)) if epoch < self.epochs else None)
        history = model.fit(self.train.x, _single(self.labels), batch_size=self.finetune.batch_size, verbose=0,
                            epochs=getattr(stopping, "max_epochs", self.epochs),
                            callbacks=[*callbacks, *self.finetune.callbacks, *self.learning_rate.callbacks(), report,
                                       *([stopping] if stopping else [])])
        self.epochs_run = len(history.epoch)

    def _compile(self, model: keras.Model, learning_rate, loss=None) -> None:
        """``model`` compiled for Adam at ``learning_rate`` with the run's objective (or ``loss``)."""
        losses, metrics, weights = self._objective()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=loss if loss is not None else _single(losses), metrics=_single(metrics),
                      loss_weights=weights)

    def hard_losses(self, model: keras.Model) -> list:
        """The run's loss per output, for a model other than the one the run started from (a student):
        the saved compiled losses, else each task's loss on ``model``'s own outputs (logits or not)."""
        if self._compiled is not None:
            return self._objective()[0]
        return [_LOSSES[task.loss](_on_logits(model, i, task)) for i, task in enumerate(self.tasks)]

    def ends_in_softmax(self, model: keras.Model) -> list[bool]:
        """Per output of ``model``: whether it gives a softmax's probabilities rather than logits."""
        return [ends_in(model, i, "softmax") for i in range(len(model.outputs))]

    def evaluate(self, model: keras.Model, data) -> dict:
        """The task's metrics of ``model`` on labelled ``data``, as ``edgekit eval`` reports them."""
        predictions = model.predict(data.x, batch_size=256, verbose=0)
        predictions = predictions if isinstance(predictions, (list, tuple)) else [predictions]
        return output_metrics(self.tasks, predictions, _labels(data, len(predictions)), self.output_names,
                              data.source)

    def _chosen_tasks(self, model: keras.Model) -> list[Task]:
        """Each output's task, by the rules ``edgekit eval`` uses: --loss, else compiled, else the labels."""
        names = self.finetune.loss
        if names and len(names) not in (1, len(model.outputs)):
            raise UsageError(f"--loss given {len(names)} times for a model with {len(model.outputs)} outputs; "
                             "give one loss for all outputs or one per output, in output order")
        compiled = ([loss_name(loss) for loss in per_output(self._compiled["loss"], self.output_names)]
                    if self._compiled is not None else None)
        given = (names[0] if len(names) == 1 else names) if names else None
        return output_tasks(given, compiled, [tuple(t.shape[1:]) for t in model.outputs], self.labels)

    def _objective(self) -> tuple[list, list, list | None]:
        """Fresh loss and metric objects (metrics hold state, so each fit gets its own)."""
        if self._compiled is not None:
            compiled = keras.saving.deserialize_keras_object(
                {key: self._compiled.get(key) for key in ("loss", "metrics", "loss_weights")})
            metrics, weights = compiled.get("metrics"), compiled.get("loss_weights")
            if metrics is not None:  # a single output's metrics are one list, not one per output
                metrics = [metrics] if len(self.output_names) == 1 else per_output(metrics, self.output_names)
            return (per_output(compiled["loss"], self.output_names), metrics or self._metrics(),
                    per_output(weights, self.output_names) if weights is not None else None)
        return list(self._losses), self._metrics(), None

    def _metrics(self) -> list[list[str]]:
        return [[task.metric] for task in self.tasks]  # Keras knows these names


class BestEpochs(keras.callbacks.Callback):
    """Early stopping with the best epoch restored, for fine-tuning past ``epochs`` while a score
    (lower is better: an accuracy budget's drop) is above ``target``.

    From the configured last epoch on, every epoch is scored; training stops once the score is
    within ``target``, after ``PATIENCE`` epochs without improvement, or at ``max_epochs``, and
    the best scored epoch's weights are restored; a score over ``give_up`` at the configured last
    epoch stops it there (too far off for the extra epochs to close). Earlier epochs do not count: they may come
    before a schedule's end (a pruning ramp not yet at its sparsity).
    """

    def __init__(self, epochs: int, max_epochs: int, target: float, score: Callable[[keras.Model], float],
                 progress: Callable[[str], None], give_up: float = math.inf):
        super().__init__()
        self.epochs, self.max_epochs, self.target, self.score, self.progress, self.give_up = (
            epochs, max_epochs, target, score, progress, give_up)
        self.best, self.best_weights, self.waited = math.inf, None, 0

    def on_epoch_end(self, epoch, logs=None) -> None:
        if epoch + 1 < self.epochs:
            return
        score = self.score(self.model)
        if epoch + 1 > self.epochs:
            self.progress(f"  epoch {epoch + 1}/{self.max_epochs}: drop {score:.2f}, budget {self.target:g}")
        if score < self.best:
            self.best, self.best_weights, self.waited = score, self.model.get_weights(), 0
        else:
            self.waited += 1
        if score <= self.target or self.waited >= PATIENCE or epoch + 1 == self.epochs and score > self.give_up:
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


_LOSSES: dict[str, Callable[[bool], Any]] = {
    "sparse_categorical_crossentropy": lambda logits: keras.losses.SparseCategoricalCrossentropy(from_logits=logits),
    "categorical_crossentropy": lambda logits: keras.losses.CategoricalCrossentropy(from_logits=logits),
    "binary_crossentropy": lambda logits: keras.losses.BinaryCrossentropy(from_logits=logits),
    "mse": lambda logits: "mse",
    "mae": lambda logits: "mae",
}
# losses that need probabilities, and the activation that makes an output give them
_PROBABILITY = {"sparse_categorical_crossentropy": "softmax", "categorical_crossentropy": "softmax",
                "binary_crossentropy": "sigmoid"}


def check_labels(model: keras.Model, data, tasks: Sequence[Task], what: str) -> None:
    """Inputs shaped like the model's (batch aside) and class ids within each classifier's classes."""
    inputs = data.x if isinstance(data.x, list) else [data.x]
    if len(inputs) != len(model.inputs):
        raise DataError(f"{data.source}: {what} data has {len(inputs)} input(s), the model takes {len(model.inputs)}")
    for array, tensor in zip(inputs, model.inputs):
        expected = tuple(tensor.shape[1:])
        found = tuple(np.shape(array)[1:])
        if len(found) != len(expected) or any(e is not None and e != f for e, f in zip(expected, found)):
            raise DataError(f"{data.source}: {what} data: expected shape {expected} per sample, found {found}")
    for tensor, task, labels in zip(model.outputs, tasks, _labels(data, len(model.outputs))):
        classes = tensor.shape[-1]
        if task.loss == "sparse_categorical_crossentropy" and classes is not None and (
                np.min(labels) < 0 or np.max(labels) >= classes):
            raise DataError(f"{data.source}: {what} labels must be class ids in [0, {classes}), "
                            f"found {int(np.min(labels))}..{int(np.max(labels))}")


def _labels(data, outputs: int) -> list[np.ndarray]:
    """One label array per model output; a DataError naming the file when they do not match."""
    labels = data.labels
    if not labels:
        raise DataError(f"{data.source}: no labels; add an array 'y' (one label per sample) to the .npz")
    if len(labels) != outputs:
        raise DataError(f"{data.source}: holds {len(labels)} label array(s) for a model with {outputs} outputs; "
                        "name them y_<output name> (or y0, y1, ...) in the .npz")
    return labels


def _single(values: list | None):
    """Keras wants a bare value, not a one-element list, for a single-output model."""
    return values[0] if values is not None and len(values) == 1 else values


def _on_logits(model: keras.Model, output: int, task: Task) -> bool:
    """Whether a cross-entropy must take output ``output`` as logits (it does not end in softmax/sigmoid)."""
    return task.loss in _PROBABILITY and not ends_in(model, output, _PROBABILITY[task.loss])


def ends_in(model: keras.Model, output: int, activation: str) -> bool:
    """Whether output ``output`` is produced by ``activation`` (looks inside compression wrappers;
    ``"linear"``: a layer without activation, i.e. logits or raw values)."""
    layer = model.outputs[output]._keras_history.operation
    layer = getattr(layer, "layer", layer)
    found = getattr(getattr(layer, "activation", None), "__name__", "")
    return found == activation or type(layer).__name__.lower() == activation


def _format_logs(logs: dict) -> str:
    """``loss 0.0123, accuracy 0.9876``: the losses first, then the metrics, as Keras names them."""
    shown = [(key, value) for key, value in logs.items() if not key.startswith("val_") and np.isscalar(value)]
    shown.sort(key=lambda item: not item[0].endswith("loss"))
    return ", ".join(f"{key} {value:.4f}" for key, value in shown)
