"""Weight clustering (weight sharing) for Keras 3 models, optionally sparsity-preserving."""

from edgekit.optimize.clustering.api import cluster_weights, strip_clustering
from edgekit.optimize.clustering.centroids import INITS, init_centroids
from edgekit.optimize.clustering.wrapper import ClusterWeights

__all__ = ["INITS", "ClusterWeights", "cluster_weights", "init_centroids", "strip_clustering"]
