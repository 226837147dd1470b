"""Magnitude pruning (unstructured and N:M) for Keras 3 models."""

from edgekit.optimize.pruning.api import prune_low_magnitude, strip_pruning
from edgekit.optimize.pruning.schedule import ConstantSparsity, PolynomialDecay, PruningSchedule
from edgekit.optimize.pruning.wrapper import PruneLowMagnitude, UpdatePruningStep

__all__ = ["ConstantSparsity", "PolynomialDecay", "PruneLowMagnitude", "PruningSchedule", "UpdatePruningStep",
           "prune_low_magnitude", "strip_pruning"]
