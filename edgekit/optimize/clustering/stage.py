"""The cluster stage: kernels share N learned values (weight sharing), fine-tuned."""

from __future__ import annotations

from edgekit.optimize.clustering.config import CLUSTER_INITS, ClusterConfig
from edgekit.optimize.stages import Backoff, Option, Param, Stage


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
    trainer.fit(wrapped, callbacks=[int4_grid_projection(wrapped)] if config.int4_grid else ())
    return strip_clustering(wrapped)


def int4_grid_projection(wrapped):
    """A callback that keeps every clustered weight's centroids on one int4 grid while they train.

    After each batch (and before the first) the centroids in use move to the nearest
    k * step, k = -7..7, step = (largest centroid in use) / 7: projected gradient descent,
    so the fine-tuning recovers what the rounding costs. The int8 converter then gives
    each kernel codes that int4 storage reproduces within half an int8 step
    (``edgekit convert --storage int4``). Centroids no weight uses are left alone: they
    must not set the step.
    """
    import keras
    import numpy as np

    from edgekit.optimize.clustering.wrapper import ClusterWeights

    pairs = []
    for wrapper in wrapped.layers:
        if isinstance(wrapper, ClusterWeights):
            for i, centroids in enumerate(wrapper.centroids):
                indices = np.asarray(wrapper.indices[i])
                if wrapper.masks[i] is not None:
                    indices = indices[np.asarray(wrapper.masks[i]) != 0]
                pairs.append((centroids, np.unique(indices)))

    def project(*_, **__) -> None:
        for centroids, used in pairs:
            values = np.asarray(centroids)
            step = float(np.abs(values[used]).max()) / 7 if used.size else 0.0
            if step > 0:
                values[used] = np.round(values[used] / step) * step
                centroids.assign(values)

    return keras.callbacks.LambdaCallback(on_train_begin=project, on_train_batch_end=project)


_OPTIONS = (
    Option("clusters", "Cluster kernels to N shared values (N >= 2).", type=int, metavar="N", enables=True,
           main=True),
    Option("init", "Initial centroids.", type=str, choices=CLUSTER_INITS),
    Option("preserve_sparsity", "Clustering keeps zeros at zero (after pruning).", type=bool,
           renamed_from=("--preserve-sparsity",)),
    Option("int4_grid", "Centroids end on one int4 grid per kernel, so edgekit convert --storage int4 stores the "
           "kernels exactly in half the bytes (at most 16 clusters).", type=bool, renamed_from=("--int4-grid",)),
    Option("entropy_cost", "Entropy-constrained clustering: weights near a border join the more frequent cluster, "
           "so the values gzip smaller (0 = nearest centroid; default 0.5 with kmeans++ init, 0 with "
           "linear/density).", metavar="W", renamed_from=("--cluster-entropy",)),
)

STAGE = Stage(name="cluster", config=ClusterConfig, apply=apply,
              summary="kernels take at most N shared values (weight clustering), centroids fine-tuned",
              example="step = \"cluster\"\nclusters = 16\npreserve_sparsity = true",
              options=_OPTIONS,
              tunables=(Param("clusters", "int", 4, 16, log=True), Param("init", "categorical", choices=CLUSTER_INITS),
                        Param("preserve_sparsity", "bool"), Param("int4_grid", "bool")),
              backoff=Backoff("clusters", none=256, unless="int4_grid"))  # 256: every int8 value
