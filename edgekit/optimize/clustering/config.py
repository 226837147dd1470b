"""Settings of the cluster stage and their checks (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError
from edgekit.optimize.checks import check_non_negative
from edgekit.optimize.selector import Selector

CLUSTER_INITS = ("kmeans++", "linear", "density")  # how the centroids start


def check_clusters(number_of_clusters: int) -> int:
    """At least 2 clusters: one centroid would turn a layer into a constant."""
    if int(number_of_clusters) != number_of_clusters or number_of_clusters < 2:
        raise UsageError(f"number of clusters must be an integer >= 2 (e.g. 16), got {number_of_clusters}")
    return int(number_of_clusters)


def check_init(init: str) -> str:
    if init not in CLUSTER_INITS:
        raise UsageError(f"cluster init must be one of {', '.join(CLUSTER_INITS)}, got {init!r}")
    return init


# k-means(++) clusters hold about equal shares of the weights: the entropy term then evens out
# the codes at no accuracy cost (digits CNN: 95 -> 72 KB gzip at 99.44%). Linear/density
# centroids leave sparsely populated clusters that the term empties, which does cost accuracy
# (80% pruned + 16 linear clusters, 3 epochs: 97.8% -> 94.7% at 0.5), so they default to 0.
DEFAULT_ENTROPY_COST = {"kmeans++": 0.5, "linear": 0.0, "density": 0.0}


def check_entropy_cost(value: float | None, init: str = "kmeans++") -> float:
    """``value``, or the default for ``init`` when None."""
    if value is None:
        return DEFAULT_ENTROPY_COST[check_init(init)]
    return check_non_negative(value, "cluster entropy cost", "0.25; 0 = nearest centroid")


@dataclass
class ClusterConfig:
    clusters: int = 16
    init: str = "kmeans++"
    per_channel: bool = False
    preserve_sparsity: bool = False
    entropy_cost: float | None = None          # entropy-constrained assignment (smaller gzip); 0 = nearest
                                               # centroid; None = DEFAULT_ENTROPY_COST of the init
    select: Selector = None
    int4_grid: bool = False                    # centroids end on one int4 grid per kernel (k x max|w|/7,
                                               # k in -7..7): int4 storage is then exact

    def __post_init__(self) -> None:
        check_clusters(self.clusters)
        if self.int4_grid and self.clusters > 16:
            raise UsageError(f"int4_grid holds at most 16 values per kernel, but clusters = {self.clusters}; "
                             "use 16 or fewer")
        check_init(self.init)
        self.entropy_cost = check_entropy_cost(self.entropy_cost, self.init)
