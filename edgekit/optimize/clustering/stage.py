"""The cluster stage: kernels share N learned values (weight sharing), fine-tuned."""

from __future__ import annotations

from edgekit.optimize.clustering.config import ClusterConfig
from edgekit.optimize.stages import Option, Stage
from edgekit.vocab import CLUSTER_INITS


def apply(model, config: ClusterConfig, trainer):
    from edgekit.optimize.clustering import cluster_weights, strip_clustering

    trainer.progress(f"cluster: {config.clusters} clusters, init {config.init}"
                     + (", per channel" if config.per_channel else "")
                     + (", sparsity preserved" if config.preserve_sparsity else "")
                     + (f", entropy cost {config.entropy_cost:g}" if config.entropy_cost > 0 else ""))
    wrapped = cluster_weights(model, config.clusters, init=config.init, per_channel=config.per_channel,
                              preserve_sparsity=config.preserve_sparsity, entropy_cost=config.entropy_cost,
                              select=config.select, seed=trainer.seed)
    trainer.fit(wrapped)
    return strip_clustering(wrapped)


_OPTIONS = (
    Option("--cluster", "clusters", "Cluster kernels to N shared values (N >= 2).", type=int, metavar="N",
           enables=True),
    Option("--cluster-init", "init", "Initial centroids.", type=str, choices=CLUSTER_INITS),
    Option("--preserve-sparsity", "preserve_sparsity", "Clustering keeps zeros at zero (after pruning).",
           type=bool),
    Option("--cluster-entropy", "entropy_cost", "Entropy-constrained clustering: weights near a border join the "
           "more frequent cluster, so the values gzip smaller (0 = nearest centroid; default 0.5 with kmeans++ init, "
           "0 with linear/density).", metavar="W"),
)

STAGE = Stage(name="cluster", config=ClusterConfig, apply=apply,
              summary="kernels take at most N shared values (weight clustering), centroids fine-tuned",
              example="step = \"cluster\"\nclusters = 16\npreserve_sparsity = true",
              options=_OPTIONS)
