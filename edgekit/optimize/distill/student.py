"""The student of a distillation: a model file, or the teacher narrowed by a width multiplier."""

from __future__ import annotations

import keras

from edgekit.errors import UsageError
from edgekit.optimize.distill.config import DistillConfig


def make_student(teacher: keras.Model, config: DistillConfig) -> keras.Model:
    """The student ``config`` names, checked to produce outputs shaped like the teacher's.

    With a width multiplier, filter pruning removes ``1 - W`` of every Conv's filters and
    Dense's units (the output layers aside) by L1 norm, so the student starts from the
    teacher's strongest channels rather than from random weights.
    """
    if config.width_multiplier is not None:
        from edgekit.optimize.filters import prune_filters
        from edgekit.optimize.filters.config import FilterPruneConfig

        student = prune_filters(teacher, FilterPruneConfig(ratio=1.0 - config.width_multiplier)).model
    else:
        from edgekit.convert import load_keras_model

        student = load_keras_model(config.student)
    check_student(teacher, student, config.student or f"width multiplier {config.width_multiplier:g}")
    return student


def check_student(teacher: keras.Model, student: keras.Model, what: str) -> None:
    """Same inputs and outputs (batch aside) as the teacher, or a UsageError naming the difference."""
    for kind, theirs, mine in (("input", teacher.inputs, student.inputs), ("output", teacher.outputs, student.outputs)):
        expected = [tuple(t.shape[1:]) for t in theirs]
        found = [tuple(t.shape[1:]) for t in mine]
        if expected != found:
            raise UsageError(f"student ({what}): its {kind} shapes {found} differ from the teacher's {expected}; "
                             f"a student must take the teacher's inputs and give outputs shaped like its own")
