"""Low-rank factorization: Dense and Conv2D kernels as chains of smaller plain Keras layers."""

from edgekit.lazy import lazy_exports

_API = "edgekit.optimize.lowrank.api"
__getattr__ = lazy_exports(__name__, {"LowRankConfig": "edgekit.optimize.lowrank.config", "LayerPlan": _API,
                                      "LowRankResult": _API, "apply_plan": _API, "factorize": _API,
                                      "plan_factorization": _API})
__all__ = ["LayerPlan", "LowRankConfig", "LowRankResult", "apply_plan", "factorize", "plan_factorization"]
