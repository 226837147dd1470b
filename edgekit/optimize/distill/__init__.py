"""Knowledge distillation: a small student trained from a teacher's soft targets."""

from edgekit.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "Distiller": "edgekit.optimize.distill.distiller", "soft_target_loss": "edgekit.optimize.distill.loss",
    "DistillConfig": "edgekit.optimize.distill.config", "make_student": "edgekit.optimize.distill.student",
    "distill_file": "edgekit.optimize.distill.file"})
__all__ = ["DistillConfig", "Distiller", "distill_file", "make_student", "soft_target_loss"]
