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
                     + (f", entropy cost {config.entropy_cost:g}" if config.entropy_cost > 0 else "")
                     + (", centroids on the int4 grid" if config.int4_grid else ""))
    wrapped = cluster_weights(model, config.clusters, init=config.init, per_channel=config.per_channel,
                              preserve_sparsity=config.preserve_sparsity, entropy_cost=config.entropy_cost,
                              select=config.select, seed=trainer.seed)
    trainer.fit(wrapped)
    stripped = strip_clustering(wrapped)
    return snap_to_int4_grid(stripped, wrapped) if config.int4_grid else stripped


def snap_to_int4_grid(model, wrapped):
    """Move every clustered weight's values to the nearest of k * max|w| / 7 (k = -7..7).

    The int8 converter then gives each kernel codes that int4 storage reproduces within
    half an int8 step (``edgekit convert --storage int4``). Values move by at most
    max|w| / 14; zeros stay zero.
    """
    import numpy as np

    from edgekit.optimize.clustering.wrapper import ClusterWeights

    for wrapper in wrapped.layers:
        if not isinstance(wrapper, ClusterWeights):
            continue
        plain = model.get_layer(wrapper.layer.name)
        for name in wrapper.weight_names:
            variable = getattr(plain, name)
            values = np.asarray(variable)
            step = float(np.abs(values).max()) / 7 or 1.0
            variable.assign((np.round(values / step) * step).astype(values.dtype))
    return model


_OPTIONS = (
    Option("--cluster", "clusters", "Cluster kernels to N shared values (N >= 2).", type=int, metavar="N",
           enables=True),
    Option("--cluster-init", "init", "Initial centroids.", type=str, choices=CLUSTER_INITS),
    Option("--preserve-sparsity", "preserve_sparsity", "Clustering keeps zeros at zero (after pruning).",
           type=bool),
    Option("--int4-grid", "int4_grid", "Centroids end on one int4 grid per kernel, so edgekit convert --storage int4 "
           "stores the kernels exactly in half the bytes (at most 16 clusters).", type=bool),
    Option("--cluster-entropy", "entropy_cost", "Entropy-constrained clustering: weights near a border join the "
           "more frequent cluster, so the values gzip smaller (0 = nearest centroid; default 0.5 with kmeans++ init, "
           "0 with linear/density).", metavar="W"),
)

STAGE = Stage(name="cluster", config=ClusterConfig, apply=apply,
              summary="kernels take at most N shared values (weight clustering), centroids fine-tuned",
              example="step = \"cluster\"\nclusters = 16\npreserve_sparsity = true",
              options=_OPTIONS)
