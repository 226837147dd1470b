"""An accuracy budget the optimize engine enforces, stage by stage.

With a :class:`Budget` every stage must end within ``max_drop`` of the model the run
started from, measured on validation data. The engine (:func:`run_step`):

1. runs the stage; its fine-tuning goes on past the configured epochs, epoch by epoch up
   to ``max_epochs``, while the drop is over budget, and keeps the best epoch
   (:class:`~edgekit.optimize.trainer.BestEpochs`, given to the trainer);
2. if the stage is still over budget, backs its strength off: a binary search between the
   requested setting and the stage's "none" value (its :class:`~edgekit.optimize.stages.Backoff`),
   keeping the strongest setting that meets the budget; a stage declared with
   :class:`~edgekit.optimize.stages.NoBackoff` (QAT) says "cannot back off STAGE" and why;
3. if no setting meets it, raises :class:`~edgekit.errors.BudgetNotMet` naming every attempt.

A budget may instead be a floor (``floor``: the accuracy every stage must keep, as
``[budgets] min_accuracy`` states it), turned into points of drop once the starting model
is measured (:meth:`Budget.starting_from`). A budget without back-off (``backoff=False``)
only trains on: a stage still over it at ``max_epochs`` is kept as asked and judged by the
caller -- what ``edgekit tune`` gives its trials, whose strength is the search's to choose,
so a trial that ends within reach of the bound (``REACH_POINTS``) gets the epochs to reach it.

Every attempt (stage, setting, epochs, metrics, drop) goes to the run's summary.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.errors import BudgetNotMet, UsageError
from edgekit.optimize.stages import Step, get_stage

if TYPE_CHECKING:  # the CLI builds a Budget before TensorFlow is imported
    import keras

HELD_OUT_FRACTION = 0.2  # of the training data, when no validation data is given
BACKOFF_STEPS = 3        # settings tried between the requested one and none
EXTRA_EPOCHS_FACTOR = 3  # default max_epochs: this many times the configured epochs
# without back-off, a stage more than this many points over the budget after its epochs does not train on: in a
# digits study, prune stages 7-10 points over closed 2-3 points in 4 more epochs and still missed
REACH_POINTS = 2.0


@dataclass(frozen=True)
class Budget:
    """``max_drop``: points of accuracy (classifiers, multi-label) or percent of relative MAE increase
    (regression) a stage may cost against the starting model; ``max_epochs``: a stage's fine-tuning
    cap (default ``EXTRA_EPOCHS_FACTOR`` x its epochs)."""

    max_drop: float = math.inf
    max_epochs: int | None = None
    floor: float | None = None  # accuracy (0-1) every stage keeps: the drop allowed is what is left above it
    backoff: bool = True        # False: train on while over budget, but keep the stage as asked

    def __post_init__(self) -> None:
        if self.floor is not None and not 0 <= self.floor <= 1:
            raise UsageError(f"min_accuracy must be between 0 and 1, got {self.floor}")
        floor_only = self.floor is not None and self.max_drop == math.inf
        if not floor_only and not 0 <= self.max_drop < math.inf:
            raise UsageError(f"--max-drop must be >= 0 (points of accuracy, e.g. 1), got {self.max_drop}")
        if self.max_epochs is not None and self.max_epochs < 1:
            raise UsageError(f"--max-epochs must be >= 1, got {self.max_epochs}")

    def cap(self, epochs: int) -> int:
        return max(epochs, self.max_epochs if self.max_epochs is not None else EXTRA_EPOCHS_FACTOR * epochs)

    @property
    def give_up(self) -> float:
        """The drop past which a stage does not train on (only without back-off, where epochs are all there is)."""
        return math.inf if self.backoff else self.max_drop + REACH_POINTS

    def starting_from(self, before: dict) -> Budget | None:
        """This budget in points of drop from the starting model's metrics ``before``; None when a floor
        leaves nothing to enforce (no classifier output, or the starting model is already at or under it)."""
        if self.floor is None:
            return self
        accuracies = _accuracies(before)
        if not accuracies or min(accuracies) <= self.floor:
            return None if self.max_drop == math.inf else dataclasses.replace(self, floor=None)
        left = 100.0 * (min(accuracies) - self.floor)
        return dataclasses.replace(self, max_drop=min(self.max_drop, left), floor=None)


def make_budget(max_drop: float | None, max_epochs: int | None, floor: float | None = None,
                backoff: bool = True) -> Budget | None:
    """The budget of a command's ``--max-drop``/``--max-epochs`` (or ``[finetune]`` keys), None without a
    drop or a floor."""
    if max_drop is None and floor is None:
        if max_epochs is not None:
            raise UsageError("--max-epochs (max_epochs) caps the fine-tuning of an accuracy budget; "
                             "give --max-drop (max_drop) too")
        return None
    return Budget(math.inf if max_drop is None else max_drop, max_epochs, floor, backoff)


def metric_drop(before: dict, after: dict) -> float:
    """How much worse ``after`` is than ``before`` (metrics as the trainer reports them), the worst output:
    accuracy points for a classifier or multi-label output, percent of MAE increase for a regression."""
    if "outputs" in before:
        return max(metric_drop(before["outputs"][name], after["outputs"][name]) for name in before["outputs"])
    if before["task"] == "regression":
        return 100.0 * (after["mae"] - before["mae"]) / max(before["mae"], 1e-12)
    key = "accuracy" if "accuracy" in before else "binary_accuracy"
    return 100.0 * (before[key] - after[key])


def _accuracies(metrics: dict) -> list[float]:
    """The classification accuracies of ``metrics`` (every classifier output's), for a floor."""
    if "outputs" in metrics:
        return [a for value in metrics["outputs"].values() for a in _accuracies(value)]
    return [metrics["accuracy"]] if "accuracy" in metrics else []


def headline(metrics: dict) -> dict:
    """The metrics of ``metrics`` a budget reads, per output (for the attempts' report)."""
    if "outputs" in metrics:
        return {name: headline(value) for name, value in metrics["outputs"].items()}
    return {key: value for key, value in metrics.items() if key in ("accuracy", "binary_accuracy", "mae")}


def hold_out(data, seed: int):
    """``(train, val)``: ``HELD_OUT_FRACTION`` of ``data`` (an :class:`edgekit.data.Dataset`, shuffled with
    ``seed``) set aside to measure the budget on, named in its ``source``."""
    from edgekit.data import Dataset

    count = len(data)
    held = round(count * HELD_OUT_FRACTION)
    if held < 1 or held >= count:
        raise UsageError(f"{data.source}: {count} samples are too few to hold out validation data for "
                         "--max-drop; give --val-data")
    order = np.random.default_rng(seed).permutation(count)

    def part(index, source):
        x = [a[index] for a in data.x] if isinstance(data.x, list) else data.x[index]
        y = [a[index] for a in data.y] if isinstance(data.y, list) else data.y[index]
        return Dataset(x, y, source)

    return (part(order[held:], data.source),
            part(order[:held], f"held-out {HELD_OUT_FRACTION:.0%} of {data.source} ({held} samples)"))


def run_step(model: keras.Model, step: Step, trainer, budget: Budget, val, before: dict,
             attempts: list[dict]) -> tuple[keras.Model, Step]:
    """``step`` applied to ``model`` within ``budget`` (see the module doc): the model and the step
    as it was finally run (weaker than asked if backed off). Appends every attempt to ``attempts``."""
    from edgekit.optimize.trainer import BestEpochs

    measure = lambda candidate: metric_drop(before, _measured(candidate, trainer, val))
    trainer.stopping = lambda epochs: BestEpochs(epochs, budget.cap(epochs), budget.max_drop, measure,
                                                 trainer.progress, budget.give_up)

    def attempt(config) -> tuple[keras.Model, bool]:
        tried = dataclasses.replace(step, config=config)
        result = apply_step(model, tried, trainer)
        metrics = trainer.evaluate(result, val)
        drop = metric_drop(before, metrics)
        met = drop <= budget.max_drop
        attempts.append({"stage": step.stage, "setting": _setting(step.stage, config), "epochs": trainer.epochs_run,
                         "metrics": headline(metrics), "drop": round(drop, 4), "met": met})
        trainer.progress(f"{step.stage} {describe(attempts[-1]['setting'])}: drop {drop:.2f} "
                         f"({'within' if met else 'over'} the budget of {budget.max_drop:g})")
        return result, met

    result, met = attempt(step.config)
    if met:
        return result, step
    if not budget.backoff:
        attempts[-1]["backoff"] = f"kept {step.stage} as asked: back-off is off"
        trainer.progress(attempts[-1]["backoff"])
        return result, step
    stage = get_stage(step.stage)
    backoff = stage.backoff
    strongest = backoff.start(step.config)
    if strongest is None:
        attempts[-1]["backoff"] = f"cannot back off {step.stage}: {backoff.fixed(step.config)}"
        trainer.progress(attempts[-1]["backoff"])
        raise _not_met(step, budget, attempts, backoff.fixed(step.config))
    failing, best = strongest, None
    passing = backoff.none
    for _ in range(BACKOFF_STEPS):
        value = backoff.between(failing, passing, stage)
        if value is None:
            break
        config = dataclasses.replace(step.config, **{backoff.field: value})
        candidate, met = attempt(config)
        if met:
            best, passing = (candidate, config), value
        else:
            failing = value
    if best is None and backoff.try_none:  # the weakest setting still compresses: the last one to try
        config = dataclasses.replace(step.config, **{backoff.field: backoff.none})
        candidate, met = attempt(config)
        best = (candidate, config) if met else None
    if best is None:
        raise _not_met(step, budget, attempts, f"no {backoff.field} between the requested {_value(strongest)} and "
                                               f"{_weakest(backoff)} met it")
    return best[0], dataclasses.replace(step, config=best[1])


def apply_step(model: keras.Model, step: Step, trainer) -> keras.Model:
    """``step``'s stage applied to ``model``, with the BatchNorm statistics of the result re-estimated."""
    from edgekit.optimize.batchnorm import reestimate_batchnorm

    result = get_stage(step.stage).apply(model, step.config, trainer)
    reestimate_batchnorm(result, trainer.train.x)
    return result


def _measured(model: keras.Model, trainer, val) -> dict:
    """``model``'s metrics on ``val`` as inference will see them: BatchNorm statistics re-estimated."""
    from edgekit.optimize.batchnorm import reestimate_batchnorm

    reestimate_batchnorm(model, trainer.train.x)
    return trainer.evaluate(model, val)


def _setting(stage: str, config: Any) -> dict:
    """The stage's settings a back-off may change, as they were tried (for the report)."""
    return get_stage(stage).backoff.setting(config)


def describe(setting: dict) -> str:
    """An attempt's setting as the reports write it: ``sparsity 0.5``, ``include_ends false``, ``as given``."""
    return ", ".join(f"{key} {_value(value)}" for key, value in setting.items()) or "as given"


def _value(value: Any) -> str:
    """``0.5``, ``16``; a switch as ``true``/``false``, the way edgekit.toml writes it."""
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"


def _weakest(backoff) -> str:
    """The far end of the search: the weakest setting, tried or not."""
    return f"the weakest, {_value(backoff.none)} (tried too)" if backoff.try_none else f"none ({_value(backoff.none)})"


def _not_met(step: Step, budget: Budget, attempts: list[dict], why: str) -> BudgetNotMet:
    tried = "; ".join(f"{describe(a['setting'])}: drop {a['drop']:.2f} after {a['epochs']} epoch(s)"
                      for a in attempts if a["stage"] == step.stage)
    return BudgetNotMet(f"stage '{step.stage}' cannot meet --max-drop {budget.max_drop:g}: {why} (tried {tried}); "
                        "nothing written: raise --max-drop or --max-epochs, or ask for a weaker setting",
                        attempts)
