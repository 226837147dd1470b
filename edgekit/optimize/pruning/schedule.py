"""When to update pruning masks and to which sparsity (tfmot's schedule semantics).

A schedule is called with the training step and returns ``(should_prune, sparsity)``.
Masks are updated only on steps in ``[begin_step, end_step]`` (``end_step=-1``: no end) where ``(step - begin_step) % frequency == 0``.
"""

from __future__ import annotations

from typing import Any

from keras import ops, saving

from edgekit.errors import UsageError
from edgekit.optimize.pruning.config import check_sparsity


class PruningSchedule:
    """Base class: subclasses implement :meth:`sparsity_at` and :meth:`get_config`."""

    begin_step: int
    end_step: int
    frequency: int

    def __call__(self, step: int) -> tuple[bool, Any]:
        return self.should_prune(step), self.sparsity_at(step)

    def should_prune(self, step: int) -> bool:
        """True on the steps at which masks are recomputed.

        Plain Python: the callback asks before every batch, where eager tensor ops would
        cost more than the training step itself.
        """
        step = int(step)
        in_range = step >= self.begin_step and (self.end_step < 0 or step <= self.end_step)
        return in_range and (step - self.begin_step) % self.frequency == 0

    def sparsity_at(self, step):
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> "PruningSchedule":
        return cls(**config)


def _check_steps(begin_step: int, end_step: int, frequency: int, *, open_end: bool) -> None:
    if begin_step < 0:
        raise UsageError(f"pruning schedule: begin_step must be >= 0, got {begin_step}")
    if end_step == -1 and not open_end:
        raise UsageError("pruning schedule: PolynomialDecay needs an end_step (not -1)")
    if end_step != -1 and end_step < begin_step:
        raise UsageError(f"pruning schedule: end_step ({end_step}) must be >= begin_step ({begin_step}) or -1")
    if frequency <= 0:
        raise UsageError(f"pruning schedule: frequency must be > 0, got {frequency}")


@saving.register_keras_serializable(package="edgekit")
class ConstantSparsity(PruningSchedule):
    """The same ``target_sparsity`` on every pruning step."""

    def __init__(self, target_sparsity: float, begin_step: int = 0, end_step: int = -1, frequency: int = 100):
        _check_steps(begin_step, end_step, frequency, open_end=True)
        self.target_sparsity = check_sparsity(target_sparsity, "target_sparsity")
        self.begin_step, self.end_step, self.frequency = int(begin_step), int(end_step), int(frequency)

    def sparsity_at(self, step):
        return ops.convert_to_tensor(self.target_sparsity, dtype="float32")

    def get_config(self) -> dict:
        return {"target_sparsity": self.target_sparsity, "begin_step": self.begin_step,
                "end_step": self.end_step, "frequency": self.frequency}


@saving.register_keras_serializable(package="edgekit")
class PolynomialDecay(PruningSchedule):
    """Sparsity rising fast then levelling off (Zhu & Gupta 2017)::

        p = clip((step - begin_step) / (end_step - begin_step), 0, 1)
        sparsity = final + (initial - final) * (1 - p) ** power
    """

    def __init__(self, initial_sparsity: float, final_sparsity: float, begin_step: int, end_step: int,
                 power: float = 3, frequency: int = 100):
        _check_steps(begin_step, end_step, frequency, open_end=False)
        self.initial_sparsity = check_sparsity(initial_sparsity, "initial_sparsity")
        self.final_sparsity = check_sparsity(final_sparsity, "final_sparsity")
        self.begin_step, self.end_step, self.frequency = int(begin_step), int(end_step), int(frequency)
        self.power = float(power)

    def sparsity_at(self, step):
        span = max(self.end_step - self.begin_step, 1)
        p = ops.clip(ops.divide(ops.cast(ops.subtract(step, self.begin_step), "float32"), float(span)), 0.0, 1.0)
        return ops.add(ops.multiply(self.initial_sparsity - self.final_sparsity, ops.power(1.0 - p, self.power)),
                       self.final_sparsity)

    def get_config(self) -> dict:
        return {"initial_sparsity": self.initial_sparsity, "final_sparsity": self.final_sparsity,
                "begin_step": self.begin_step, "end_step": self.end_step, "power": self.power,
                "frequency": self.frequency}
