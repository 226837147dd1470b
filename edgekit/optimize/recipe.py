"""The one place that chains compression stages for the CLI and the pipeline.

Stage order: filters -> prune -> cluster -> qat. Each stage wraps the model, fine-tunes it
with Adam for ``epochs`` epochs, and strips it again, so the next stage starts from a
plain Keras model and each stage's effect (zeros, shared values) survives the next.
``filters`` and ``qat`` are the slots of issue 6 (branch ``qat``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np

from edgekit.errors import DataError, UsageError
from edgekit.optimize.checks import check_non_negative
from edgekit.optimize.clustering import cluster_weights, strip_clustering
from edgekit.optimize.clustering.centroids import check_clusters, check_init
from edgekit.optimize.filters import FilterPruneConfig, prune_filters
from edgekit.optimize.layers import Selector
from edgekit.optimize.pruning import (ConstantSparsity, PolynomialDecay, UpdatePruningStep, prune_low_magnitude,
                                      strip_pruning)
from edgekit.optimize.pruning.algorithm import check_structure
from edgekit.optimize.pruning.schedule import check_sparsity
from edgekit.optimize.qat import QATConfig, finish_qat, quantize_model
from edgekit.optimize.summary import accuracy, count_params, layer_stats

SCHEDULES = ("polynomial", "constant")
# PolynomialDecay reaches the final sparsity after this fraction of the fine-tuning steps,
# leaving the rest for the network to recover at the final sparsity.
_RAMP_FRACTION = 0.6


@dataclass
class PruneConfig:
    sparsity: float = 0.8                      # ignored when structured is set (N:M fixes it)
    schedule: str = "polynomial"
    structured: tuple[int, int] | None = None  # (n, m), e.g. (2, 4)
    block_size: int = 1                        # prune runs of this many input channels together
    run_cost: float = 0.0                      # > 0: prefer long zero runs (smaller gzip), see pruning.runs
    select: Selector = None

    def __post_init__(self) -> None:
        if self.structured is None:
            check_sparsity(self.sparsity, "prune sparsity")
        self.structured, self.block_size, self.run_cost = check_structure(self.structured, self.block_size,
                                                                          self.run_cost)
        if self.schedule not in SCHEDULES:
            raise UsageError(f"prune schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")


@dataclass
class ClusterConfig:
    clusters: int = 16
    init: str = "kmeans++"
    per_channel: bool = False
    preserve_sparsity: bool = False
    entropy_cost: float = 0.0                  # > 0: entropy-constrained assignment (smaller gzip)
    select: Selector = None

    def __post_init__(self) -> None:
        check_clusters(self.clusters)
        check_init(self.init)
        self.entropy_cost = check_non_negative(self.entropy_cost, "cluster entropy cost",
                                               "0.25; 0 = nearest centroid")


@dataclass
class OptimizeConfig:
    prune: PruneConfig | None = None
    cluster: ClusterConfig | None = None
    filters: FilterPruneConfig | None = None
    qat: QATConfig | None = None
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-4

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise UsageError(f"epochs and batch size must be >= 1, got {self.epochs} and {self.batch_size}")
        if not self.learning_rate > 0:
            raise UsageError(f"learning rate must be > 0, got {self.learning_rate}")


@dataclass
class RecipeResult:
    model: keras.Model                       # stripped, plain Keras
    summary: dict = field(default_factory=dict)


def run_recipe(model: keras.Model, config: OptimizeConfig, train, val=None,
               progress: Callable[[str], None] = lambda message: None) -> RecipeResult:
    """Apply the configured stages in order; ``train``/``val`` are :class:`edgekit.data.Dataset`."""
    _check_data(model, train, "training")
    if val is not None:
        _check_data(model, val, "validation")
    started = time.perf_counter()
    before = accuracy(model, val.x, val.y) if val is not None else None
    stages = []
    if config.filters is not None:
        model = _timed(stages, "filters", lambda m: _filters(m, config.filters, config, train, progress), model)
    if config.prune is not None:
        model = _timed(stages, "prune", lambda m: _prune(m, config.prune, config, train, progress), model)
    if config.cluster is not None:
        model = _timed(stages, "cluster", lambda m: _cluster(m, config.cluster, config, train, progress), model)
    if config.qat is not None:
        model = _timed(stages, "qat", lambda m: _qat(m, config.qat, config, train, progress), model)
    summary = {"stages": stages, "layers": layer_stats(model), "params": count_params(model),
               "accuracy_before": before, "accuracy_after": accuracy(model, val.x, val.y) if val is not None else None,
               "seconds": round(time.perf_counter() - started, 2)}
    return RecipeResult(model, summary)


def _timed(stages: list, name: str, stage: Callable[[keras.Model], keras.Model], model: keras.Model) -> keras.Model:
    started = time.perf_counter()
    model = stage(model)
    stages.append({"stage": name, "seconds": round(time.perf_counter() - started, 2)})
    return model


def _prune(model: keras.Model, prune: PruneConfig, config: OptimizeConfig, train, progress) -> keras.Model:
    steps_per_epoch = -(-len(train) // config.batch_size)
    total = steps_per_epoch * config.epochs
    frequency = max(1, min(100, steps_per_epoch))
    if prune.schedule == "constant" or prune.structured:
        schedule = ConstantSparsity(prune.sparsity if not prune.structured else 0.5, 0, frequency=frequency)
    else:
        end = max(1, int(total * _RAMP_FRACTION) // frequency * frequency)
        schedule = PolynomialDecay(0.0, prune.sparsity, 0, end, frequency=frequency)
    what = f"{prune.structured[0]}:{prune.structured[1]}" if prune.structured else f"{prune.sparsity:.0%}"
    blocks = f", blocks of {prune.block_size} input channels" if prune.block_size > 1 else ""
    blocks += f", run cost {prune.run_cost:g}" if prune.run_cost > 0 else ""
    progress(f"prune: {what} sparsity, {prune.schedule if not prune.structured else 'structured'} schedule{blocks}")
    wrapped = prune_low_magnitude(model, schedule, select=prune.select, n_of_m=prune.structured,
                                  block_size=prune.block_size, run_cost=prune.run_cost)
    _fit(wrapped, train, config, progress, [UpdatePruningStep()])
    return strip_pruning(wrapped)


def _cluster(model: keras.Model, cluster: ClusterConfig, config: OptimizeConfig, train, progress) -> keras.Model:
    progress(f"cluster: {cluster.clusters} clusters, init {cluster.init}"
             + (", per channel" if cluster.per_channel else "")
             + (", sparsity preserved" if cluster.preserve_sparsity else "")
             + (f", entropy cost {cluster.entropy_cost:g}" if cluster.entropy_cost > 0 else ""))
    wrapped = cluster_weights(model, cluster.clusters, init=cluster.init, per_channel=cluster.per_channel,
                              preserve_sparsity=cluster.preserve_sparsity, entropy_cost=cluster.entropy_cost,
                              select=cluster.select)
    _fit(wrapped, train, config, progress)
    return strip_clustering(wrapped)


def _filters(model: keras.Model, filters: FilterPruneConfig, config: OptimizeConfig, train,
             progress) -> keras.Model:
    progress(f"filters: removing {filters.ratio:.0%} of the filters/units of each layer "
             f"(ranked by {filters.criterion}" + (f", {len(filters.layer_ratios)} override(s))"
                                                  if filters.layer_ratios else ")"))
    result = prune_filters(model, filters)
    progress(f"  parameters {result.params_before:,} -> {result.params_after:,}")
    _fit(result.model, train, config, progress)
    return result.model


def _qat(model: keras.Model, qat: QATConfig, config: OptimizeConfig, train, progress) -> keras.Model:
    """QAT last: clusters from the cluster stage stay <= N values per channel, zeros stay zero."""
    clusters = config.cluster.clusters if config.cluster is not None else qat.preserve_clusters
    progress("qat: int8 fake quantization (per-channel weights, per-tensor activations), BatchNorm folded"
             + (f", clusters kept at <= {clusters} values" if clusters else ""))
    wrapped = quantize_model(model, preserve_clusters=clusters, ema_decay=qat.ema_decay)
    _fit(wrapped, train, config, progress, from_logits=not _ends_in_softmax(model))
    return finish_qat(wrapped, qat.representative(train.x)).model


def _fit(model: keras.Model, train, config: OptimizeConfig, progress, callbacks=(),
         from_logits: bool | None = None) -> None:
    if from_logits is None:
        from_logits = not _ends_in_softmax(model)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
                  metrics=["accuracy"])
    report = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: progress(
        f"  epoch {epoch + 1}/{config.epochs}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.4f}"))
    model.fit(train.x, train.y, epochs=config.epochs, batch_size=config.batch_size, verbose=0,
              callbacks=[*callbacks, report])


def _ends_in_softmax(model: keras.Model) -> bool:
    """Whether the model outputs probabilities (softmax) rather than logits (looks inside wrappers)."""
    last = model.layers[-1]
    last = getattr(last, "layer", last)  # PruneLowMagnitude / ClusterWeights / QAT wrappers
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") == "softmax" or type(last).__name__ == "Softmax"


def _check_data(model: keras.Model, data, what: str) -> None:
    """Training needs labels and inputs shaped like the model's (batch dimension aside)."""
    if data.y is None:
        raise DataError(f"{data.source}: {what} data has no labels; add an integer array 'y'")
    inputs = data.x if isinstance(data.x, list) else [data.x]
    if len(inputs) != len(model.inputs):
        raise DataError(f"{data.source}: {what} data has {len(inputs)} input(s), the model takes {len(model.inputs)}")
    for array, tensor in zip(inputs, model.inputs):
        expected = tuple(tensor.shape[1:])
        found = tuple(np.shape(array)[1:])
        if len(found) != len(expected) or any(e is not None and e != f for e, f in zip(expected, found)):
            raise DataError(f"{data.source}: {what} data: expected shape {expected} per sample, found {found}")
    classes = model.outputs[0].shape[-1]
    if classes is not None and (np.min(data.y) < 0 or np.max(data.y) >= classes):
        raise DataError(f"{data.source}: {what} labels must be class ids in [0, {classes}), "
                        f"found {int(np.min(data.y))}..{int(np.max(data.y))}")
