"""The distill stage: the model entering the stage teaches a smaller student, which leaves it."""

from __future__ import annotations

from edgekit.optimize.distill.config import DistillConfig
from edgekit.optimize.stages import Backoff, Option, Param, Stage


def apply(model, config: DistillConfig, trainer):
    from edgekit.optimize.distill.distiller import Distiller
    from edgekit.optimize.distill.student import make_student

    student = make_student(model, config)
    trainer.progress(f"distill: student with {student.count_params():,} parameters "
                     f"({student.count_params() / max(model.count_params(), 1):.0%} of the teacher's), "
                     f"alpha {config.alpha:g}, temperature {config.temperature:g}")
    soft = [task.kind == "classification" for task in trainer.tasks]
    distiller = Distiller(student, model, alpha=config.alpha, temperature=config.temperature, soft=soft,
                          teacher_probabilities=trainer.ends_in_softmax(model),
                          student_probabilities=trainer.ends_in_softmax(student))
    trainer.fit(distiller, loss=trainer.hard_losses(student))
    return student


_OPTIONS = (
    Option("student", "Distill into this student .keras file (same inputs and outputs as the teacher).",
           type=str, metavar="FILE", enables=True, excludes=("width_multiplier",)),
    Option("width_multiplier", "Distill into the teacher with every layer's filters/units scaled by W "
           "(0 < W <= 1), started from the teacher's strongest channels.", metavar="W", enables=True,
           renamed_from=("--distill-width",)),
    Option("alpha", "The teacher's share of the loss: (1 - A) * loss(labels) + A * T^2 * KL(teacher || student) "
           "(0 = labels only, 1 = teacher only).", metavar="A"),
    Option("temperature", "Softmax temperature T of the soft targets (> 0).", metavar="T"),
)

STAGE = Stage(name="distill", config=DistillConfig, apply=apply,
              summary="train a smaller student (a file, or the model at a width multiplier) from the model",
              example="step = \"distill\"\nwidth_multiplier = 0.5\nalpha = 0.5\ntemperature = 4.0",
              options=_OPTIONS, paths=("student",),
              tunables=(Param("width_multiplier", "float", 0.25, 1.0), Param("alpha", "float", 0.0, 1.0),
                        Param("temperature", "float", 1.0, 8.0, log=True)),
              backoff=Backoff("width_multiplier", none=1.0))  # a student file has no width to back off
