"""The soft-target term of knowledge distillation (Hinton et al.), on logits or probabilities.

KL(p_t(T) || p_s(T)) * T^2 with p(T) = softmax(z / T): the T^2 keeps the term's gradients
on the scale of the hard loss's whatever the temperature. A model whose output is already
a softmax gives probabilities p; log(p) are logits of the same softmax, so both kinds of
output work (a teacher with a softmax and a student without, or the reverse).
"""

from __future__ import annotations

from keras import ops

_EPSILON = 1e-7


def as_logits(output, probabilities: bool):
    """Logits of ``output``: itself, or log(p) when it is a softmax's probabilities."""
    return ops.log(ops.clip(output, _EPSILON, 1.0)) if probabilities else output


def soft_target_loss(teacher_logits, student_logits, temperature: float):
    """T^2 * mean over the batch of KL(softmax(teacher / T) || softmax(student / T))."""
    teacher = ops.log_softmax(teacher_logits / temperature, axis=-1)
    student = ops.log_softmax(student_logits / temperature, axis=-1)
    kl = ops.sum(ops.exp(teacher) * (teacher - student), axis=-1)
    return temperature ** 2 * ops.mean(kl)


def matching_loss(teacher_output, student_output):
    """Regression and multi-label outputs: the student matches the teacher's outputs (mean squared error)."""
    return ops.mean(ops.square(teacher_output - student_output))
