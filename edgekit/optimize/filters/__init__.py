"""Filter / channel pruning that rebuilds a genuinely smaller Keras model."""

from edgekit.lazy import lazy_exports

_API = "edgekit.optimize.filters.api"
__getattr__ = lazy_exports(__name__, {"FilterPruneConfig": "edgekit.optimize.filters.config",
                                      "FilterPruneResult": _API, "prune_filters": _API})
__all__ = ["FilterPruneConfig", "FilterPruneResult", "prune_filters"]
