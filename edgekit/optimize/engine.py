"""The optimize engine: run a recipe's stages in order through one trainer.

A :class:`Recipe` is a list of :class:`~edgekit.optimize.stages.Step` (a registered stage
and its config) plus the fine-tuning settings they share. Each stage wraps the model,
fine-tunes it through the :class:`~edgekit.optimize.trainer.Trainer` and strips it
again, so the next stage starts from a plain Keras model and each stage's effect (zeros,
shared values, removed filters) survives the next. ``edgekit optimize``, ``edgekit build``
and the Python API all come here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import keras

from edgekit.errors import UsageError
from edgekit.optimize.budget import Budget, apply_step, hold_out, run_step
from edgekit.optimize.stages import Step, check_order, get_stage
from edgekit.optimize.summary import count_params, layer_stats
from edgekit.optimize.trainer import Finetune, Trainer, check_labels


@dataclass
class Recipe:
    """What to run: ``steps`` in this order, each fine-tuned with ``finetune``."""

    steps: list[Step]
    finetune: Finetune = field(default_factory=Finetune)

    def __post_init__(self) -> None:
        if not self.steps:
            raise UsageError("nothing to do: the recipe has no optimize stage")
        check_order([step.stage for step in self.steps])
        for step in self.steps:
            expected = get_stage(step.stage).config
            if not isinstance(step.config, expected):
                raise UsageError(f"optimize stage '{step.stage}' takes a {expected.__name__}, "
                                 f"got {type(step.config).__name__}")


@dataclass
class OptimizeResult:
    model: keras.Model                       # stripped, plain Keras
    summary: dict = field(default_factory=dict)


def optimize(model: keras.Model, recipe: Recipe, train, val=None, *, calibration=None, compile_config=None,
             budget: Budget | None = None,
             progress: Callable[[str], None] = lambda message: None) -> OptimizeResult:
    """Apply ``recipe`` to ``model``; ``train``/``val`` are labelled :class:`edgekit.data.Dataset`.

    ``calibration``: the inputs the int8 converter will be given (QAT measures its final
    ranges on them); ``compile_config``: the ``compile()`` arguments the model file was saved
    with (see :class:`~edgekit.optimize.trainer.Trainer`). The summary has per-stage seconds,
    per-layer sparsity/unique values,
    parameter counts and the task's metrics before and after on ``val``.

    ``budget``: every stage must stay within its ``max_drop`` of the starting model on
    ``val`` (without ``val``: a held-out part of ``train``, named in the summary's
    ``validation``), trained longer or backed off if it must (:mod:`edgekit.optimize.budget`);
    the summary's ``attempts`` lists every setting tried. Raises BudgetNotMet if a stage
    cannot meet it.
    """
    keras.utils.set_random_seed(recipe.finetune.seed)  # the same recipe on the same data gives the same model
    if budget is not None and val is None:
        train, val = hold_out(train, recipe.finetune.seed)
        progress(f"validation: {val.source}, for the accuracy budget (give validation data to use your own)")
    trainer = Trainer(model, train, recipe.finetune, progress=progress, calibration=calibration,
                      compile_config=compile_config)
    if val is not None:
        check_labels(model, val, trainer.tasks, "validation")
    started = time.perf_counter()
    before = trainer.evaluate(model, val) if val is not None else None
    if budget is not None:
        budget = budget.starting_from(before)
    timings, attempts = [], []
    for step in recipe.steps:
        stage_started = time.perf_counter()
        if budget is None:
            model = apply_step(model, step, trainer)
        else:
            model, step = run_step(model, step, trainer, budget, val, before, attempts)
        trainer.done.append(step)
        timings.append({"stage": step.stage, "seconds": round(time.perf_counter() - stage_started, 2),
                        **({"report": trainer.reports[step.stage]} if step.stage in trainer.reports else {})})
    after = trainer.evaluate(model, val) if val is not None else None
    summary = {"stages": timings, "layers": layer_stats(model), "params": count_params(model),
               "tasks": [task.kind for task in trainer.tasks],
               "metrics_before": before, "metrics_after": after,
               "accuracy_before": _accuracy(before), "accuracy_after": _accuracy(after),
               "seconds": round(time.perf_counter() - started, 2)}
    if budget is not None:
        summary.update(validation=val.source, max_drop=budget.max_drop, attempts=attempts)
    return OptimizeResult(model, summary)


def _accuracy(metrics: dict | None) -> float | None:
    """The classification accuracy of a single-output model (the figure the budgets know), else None."""
    return metrics.get("accuracy") if metrics is not None else None
