"""``distill_file``: a teacher file in, a distilled student ``.keras`` file out (``edgekit distill``).

Labelled data trains with both terms of the loss. Unlabelled data is allowed with
``alpha = 1`` (the teacher alone teaches): the samples are then labelled with the
teacher's own predictions, so the trainer, its metrics and ``--val-data`` work as for
labelled data, and the reported accuracy is the student's agreement with the teacher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from edgekit.errors import UsageError
from edgekit.optimize.distill.config import DistillConfig
from edgekit.optimize.engine import Recipe
from edgekit.optimize.stages import Step
from edgekit.optimize.finetune import Finetune
from edgekit.quality_drop import compression_fixes


def distill_file(teacher_path: str | Path, output: str | Path, config: DistillConfig, finetune: Finetune, *,
                 train, val=None, budget=None, progress: Callable[[str], None] = lambda message: None) -> dict:
    """Distill ``teacher_path`` into ``config``'s student, trained on ``train`` (a SPEC), saved as ``output``;
    ``budget``: the accuracy budget the student must meet (:mod:`edgekit.optimize.budget`)."""
    from edgekit.convert import input_signature, load_keras_model, output_names
    from edgekit.data import Dataset, load_dataset
    from edgekit.optimize.file import optimize_file

    teacher = load_keras_model(teacher_path)
    shapes, names = input_signature(teacher)
    data = load_dataset(train, input_shapes=shapes, input_names=names, output_names=output_names(teacher))
    if not data.labels:
        if config.alpha != 1:
            raise UsageError(f"{train}: no labels; to learn from the teacher alone on unlabelled data give "
                             f"--distill-alpha 1, or add labels 'y' to the data")
        progress(f"{train}: no labels: the student learns the teacher's predictions (alpha 1)")
        data = Dataset(data.x, pseudo_labels(teacher, data.x, saved_kinds(teacher_path, output_names(teacher))),
                       data.source)
    recipe = Recipe([Step("distill", config)], finetune)
    fixes = compression_fixes("compression: a larger student (--distill-width-multiplier)")
    return optimize_file(teacher_path, output, recipe, train=data, val=val, budget=budget, progress=progress,
                         fixes=fixes)


def saved_kinds(path: str | Path, names: list[str]) -> list[str | None]:
    """Per output, the task kind of the loss the teacher file was compiled with (None where unknown)."""
    from edgekit.evaluate.losses import loss_name, per_output
    from edgekit.keras_file import saved_compile_config
    from edgekit.tasks import task_for_loss

    compiled = saved_compile_config(path)
    kinds: list[str | None] = []
    for loss in per_output(compiled["loss"], names) if compiled else [None] * len(names):
        try:
            kinds.append(task_for_loss(loss_name(loss)).kind if loss is not None else None)
        except UsageError:  # a custom loss: the output's shape and activation decide
            kinds.append(None)
    return kinds


def pseudo_labels(teacher, inputs, kinds: list[str | None]) -> np.ndarray | list[np.ndarray]:
    """The teacher's predictions as labels, per output: class ids for a classifier, 0/1 for a multi-label
    output, the values for a regression. ``kinds`` (from the saved loss) decide; where unknown, a sigmoid
    means multi-label, a softmax or a multi-unit output without activation (logits) a classifier."""
    from edgekit.optimize.trainer import ends_in

    predictions = teacher.predict(inputs, batch_size=256, verbose=0)
    predictions = list(predictions) if isinstance(predictions, (list, tuple)) else [predictions]
    labels = []
    for i, (predicted, kind) in enumerate(zip(predictions, kinds)):
        if kind is None:
            units = predicted.shape[-1] if predicted.ndim > 1 else 1
            kind = ("multilabel" if ends_in(teacher, i, "sigmoid") else
                    "classification" if units >= 2 and (ends_in(teacher, i, "softmax") or ends_in(teacher, i, "linear"))
                    else "regression")
        if kind == "classification":
            labels.append(np.argmax(predicted, axis=-1).astype(np.int64))
        elif kind == "multilabel":
            probabilities = predicted if ends_in(teacher, i, "sigmoid") else 1 / (1 + np.exp(-predicted))
            labels.append((probabilities > 0.5).astype(np.int64))
        else:
            labels.append(predicted.astype(np.float32))
    return labels[0] if len(labels) == 1 else labels
