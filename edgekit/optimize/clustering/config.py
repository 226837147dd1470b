"""Settings of the cluster stage and their checks (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError
from edgekit.optimize.checks import check_non_negative
from edgekit.optimize.selector import Selector
from edgekit.vocab import CLUSTER_INITS


def check_clusters(number_of_clusters: int) -> int:
    """At least 2 clusters: one centroid would turn a layer into a constant."""
    if int(number_of_clusters) != number_of_clusters or number_of_clusters < 2:
        raise UsageError(f"number of clusters must be an integer >= 2 (e.g. 16), got {number_of_clusters}")
    return int(number_of_clusters)


def check_init(init: str) -> str:
    if init not in CLUSTER_INITS:
        raise UsageError(f"cluster init must be one of {', '.join(CLUSTER_INITS)}, got {init!r}")
    return init


def check_entropy_cost(value: float) -> float:
    return check_non_negative(value, "cluster entropy cost", "0.25; 0 = nearest centroid")


@dataclass
class ClusterConfig:
    clusters: int = 16
    init: str = "kmeans++"
    per_channel: bool = False
    preserve_sparsity: bool = False
    entropy_cost: float = 0.5                  # entropy-constrained assignment (smaller gzip); 0 = nearest centroid
    select: Selector = None

    def __post_init__(self) -> None:
        check_clusters(self.clusters)
        check_init(self.init)
        self.entropy_cost = check_entropy_cost(self.entropy_cost)
