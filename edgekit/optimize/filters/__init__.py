"""Filter / channel pruning that rebuilds a genuinely smaller Keras model."""

from edgekit.optimize.filters.api import FilterPruneConfig, FilterPruneResult, prune_filters

__all__ = ["FilterPruneConfig", "FilterPruneResult", "prune_filters"]
