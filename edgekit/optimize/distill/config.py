"""Settings of the distill stage (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError

DEFAULT_ALPHA = 0.5
DEFAULT_TEMPERATURE = 4.0


@dataclass
class DistillConfig:
    """Train a student from the model entering the stage (the teacher).

    The student is a ``.keras`` file (``student``) or the teacher with every Conv's filters
    and Dense's units scaled by ``width_multiplier`` (filter pruning keeps the teacher's
    strongest channels as its start). Loss: (1 - alpha) * the task's loss on the labels +
    alpha * T^2 * KL(teacher(T) || student(T)).
    """

    student: str | None = None
    width_multiplier: float | None = None
    alpha: float = DEFAULT_ALPHA
    temperature: float = DEFAULT_TEMPERATURE

    def __post_init__(self) -> None:
        if (self.student is None) == (self.width_multiplier is None):
            raise UsageError("distill needs a student: give a student .keras file or a width multiplier "
                             "(e.g. 0.5), not both")
        if self.width_multiplier is not None and not 0 < _number(self.width_multiplier) <= 1:
            raise UsageError(f"width multiplier must be in (0, 1] (e.g. 0.5 halves every layer), "
                             f"got {self.width_multiplier!r}")
        if not 0 <= _number(self.alpha) <= 1:
            raise UsageError(f"distillation alpha must be in [0, 1] (the teacher's share of the loss; "
                             f"default {DEFAULT_ALPHA}), got {self.alpha!r}")
        if not 0 < _number(self.temperature) < float("inf"):
            raise UsageError(f"distillation temperature must be > 0 (default {DEFAULT_TEMPERATURE:g}), "
                             f"got {self.temperature!r}")
        self.alpha, self.temperature = float(self.alpha), float(self.temperature)
        if self.student is not None:
            self.student = str(self.student)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
