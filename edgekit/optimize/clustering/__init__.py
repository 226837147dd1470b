"""Weight clustering (weight sharing) for Keras 3 models, optionally sparsity-preserving."""

from edgekit.lazy import lazy_exports

_API = "edgekit.optimize.clustering.api"
__getattr__ = lazy_exports(__name__, {
    "cluster_weights": _API, "strip_clustering": _API, "init_centroids": "edgekit.optimize.clustering.centroids",
    "ClusterWeights": "edgekit.optimize.clustering.wrapper", "ClusterConfig": "edgekit.optimize.clustering.config"})
__all__ = ["ClusterConfig", "ClusterWeights", "cluster_weights", "init_centroids", "strip_clustering"]
