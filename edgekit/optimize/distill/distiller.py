"""``Distiller``: a Keras model that trains its student from a frozen teacher with ``model.fit``.

Its output is the student's, so the trainer's compiled loss and metrics are the student's
hard loss and metrics; :meth:`Distiller.compute_loss` adds the teacher's term per output.
The teacher runs once per batch in inference mode, outside the gradient, and is not
trained (nor marked untrainable: a student derived from it would inherit the flag).
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from edgekit.optimize.distill.loss import as_logits, matching_loss, soft_target_loss


class Distiller(keras.Model):
    """``student`` trained with (1 - alpha) * hard loss + alpha * soft loss against ``teacher``.

    ``soft``: per output, True for a classifier (soft targets at ``temperature``), False
    for an output the student should match (MSE); ``teacher_probabilities`` /
    ``student_probabilities``: per output, whether it ends in a softmax.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, *, alpha: float, temperature: float,
                 soft: Sequence[bool], teacher_probabilities: Sequence[bool],
                 student_probabilities: Sequence[bool], **kwargs):
        super().__init__(**kwargs)
        self.student, self.teacher = student, teacher
        self.alpha, self.temperature = float(alpha), float(temperature)
        self.soft = tuple(soft)
        self.teacher_probabilities, self.student_probabilities = tuple(teacher_probabilities), tuple(
            student_probabilities)

    @property
    def trainable_variables(self) -> list:
        """Only the student learns; the teacher's own ``trainable`` flags are left as the user set them."""
        return self.student.trainable_variables

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        hard = super().compute_loss(x, y, y_pred, sample_weight, training)
        if self.alpha == 0:
            return hard
        teacher = _as_list(self.teacher(x, training=False))
        student = _as_list(y_pred)
        soft = 0.0
        for i, (t, s) in enumerate(zip(teacher, student)):
            t = ops.stop_gradient(t)
            if self.soft[i]:
                soft = soft + soft_target_loss(as_logits(t, self.teacher_probabilities[i]),
                                               as_logits(s, self.student_probabilities[i]), self.temperature)
            else:
                soft = soft + matching_loss(t, s)
        return (1.0 - self.alpha) * hard + self.alpha * soft


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
