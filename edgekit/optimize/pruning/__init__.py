"""Magnitude pruning (unstructured, N:M, blocks, run-aware) for Keras 3 models."""

from edgekit.lazy import lazy_exports

_API, _SCHEDULE, _WRAPPER = ("edgekit.optimize.pruning.api", "edgekit.optimize.pruning.schedule",
                             "edgekit.optimize.pruning.wrapper")
__getattr__ = lazy_exports(__name__, {
    "prune_low_magnitude": _API, "strip_pruning": _API, "ConstantSparsity": _SCHEDULE, "PolynomialDecay": _SCHEDULE,
    "PruningSchedule": _SCHEDULE, "PruneLowMagnitude": _WRAPPER, "UpdatePruningStep": _WRAPPER,
    "PruneConfig": "edgekit.optimize.pruning.config"})
__all__ = ["ConstantSparsity", "PolynomialDecay", "PruneConfig", "PruneLowMagnitude", "PruningSchedule",
           "UpdatePruningStep", "prune_low_magnitude", "strip_pruning"]
