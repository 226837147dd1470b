"""tfmot's keyword arguments on edgekit's Python API (edgekit/optimize/tfmot_names.py, docs/tfmot.md): the
calls a tfmot user has in their code run, and give what edgekit's own names give; a tfmot argument
whose meaning differs is one error line naming the edgekit equivalent.

tfmot itself is not installed here: ``CentroidInitialization`` and ``TfmotPolynomialDecay`` below are
tfmot's enum and tfmot's schedule ``get_config()`` layout as tfmot 0.8 defines them, so the test
passes what a tfmot user's objects hold."""

from __future__ import annotations

import enum

import numpy as np
import pytest

from edgekit.errors import UsageError


class CentroidInitialization(str, enum.Enum):
    """tfmot.clustering.keras.CentroidInitialization, member for member."""

    LINEAR = "CentroidInitialization.LINEAR"
    RANDOM = "CentroidInitialization.RANDOM"
    DENSITY_BASED = "CentroidInitialization.DENSITY_BASED"
    KMEANS_PLUS_PLUS = "CentroidInitialization.KMEANS_PLUS_PLUS"


class TfmotPolynomialDecay:
    """What tfmot's schedule objects give edgekit to read: ``get_config()`` -> class name and arguments."""

    def get_config(self) -> dict:
        return {"class_name": "PolynomialDecay", "config": {"initial_sparsity": 0.0, "final_sparsity": 0.5,
                                                            "begin_step": 0, "end_step": 4, "power": 3,
                                                            "frequency": 1}}


@pytest.fixture(scope="module")
def dense_model():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((32,)), keras.layers.Dense(16, activation="relu", name="fc"),
                             keras.layers.Dense(4, name="out")])


def _wrappers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def _fit(model, steps: int = 6, callbacks=()):
    rng = np.random.default_rng(0)
    model.compile("adam", "mse")
    model.fit(rng.normal(size=(8 * steps, 32)), rng.normal(size=(8 * steps, 4)), batch_size=8, epochs=1,
              verbose=0, callbacks=list(callbacks))


def test_prune_low_magnitude_takes_tfmots_arguments(dense_model):
    from edgekit.optimize.pruning import (ConstantSparsity, PruneLowMagnitude, UpdatePruningStep,
                                          prune_low_magnitude, strip_pruning)

    schedule = ConstantSparsity(0.5, 0, frequency=1)
    pruned = prune_low_magnitude(to_prune=dense_model, pruning_schedule=schedule, block_size=(2, 1),
                                 block_pooling_type="AVG")
    wrappers = _wrappers(pruned, PruneLowMagnitude)
    assert [w.block_size for w in wrappers] == [2, 2] and all(w.schedule is schedule for w in wrappers)
    _fit(pruned, callbacks=[UpdatePruningStep()])
    kernel = strip_pruning(pruned).get_layer("fc").get_weights()[0]      # (in, out): blocks of 2 inputs
    pairs = (kernel.reshape(16, 2, 16) == 0)
    assert (kernel == 0).mean() == pytest.approx(0.5) and (pairs.all(axis=1) | ~pairs.any(axis=1)).all()


def test_sparsity_m_by_n_is_n_of_m_and_a_tfmot_schedule_object_is_read(dense_model):
    from edgekit.optimize.pruning import PolynomialDecay, PruneLowMagnitude, prune_low_magnitude

    structured = prune_low_magnitude(dense_model, pruning_schedule=PolynomialDecay(0.0, 0.5, 0, 4),
                                     sparsity_m_by_n=[2, 4])
    assert {w.n_of_m for w in _wrappers(structured, PruneLowMagnitude)} == {(2, 4)}
    schedule = _wrappers(prune_low_magnitude(dense_model, pruning_schedule=TfmotPolynomialDecay()),
                         PruneLowMagnitude)[0].schedule
    assert isinstance(schedule, PolynomialDecay)
    assert schedule.get_config() == TfmotPolynomialDecay().get_config()["config"] | {"power": 3.0}


def test_cluster_weights_takes_tfmots_arguments(dense_model):
    from edgekit.optimize.clustering import ClusterWeights, cluster_weights, strip_clustering

    for member, init in ((CentroidInitialization.LINEAR, "linear"), (CentroidInitialization.DENSITY_BASED, "density"),
                         ("KMEANS_PLUS_PLUS", "kmeans++")):
        clustered = cluster_weights(to_cluster=dense_model, number_of_clusters=4, cluster_centroids_init=member,
                                    cluster_per_channel=True, preserve_sparsity=False)
        assert {(w.init, w.per_channel, w.number_of_clusters) for w in _wrappers(clustered, ClusterWeights)} \
            == {(init, True, 4)}
    _fit(clustered, steps=2)
    kernel = strip_clustering(clustered).get_layer("fc").get_weights()[0]
    assert max(len(np.unique(kernel[:, channel])) for channel in range(kernel.shape[1])) <= 4


def test_quantize_model_takes_to_quantize(dense_model):
    from edgekit.optimize.qat import quantize_model
    from edgekit.optimize.qat.layers import QuantizeWrapper

    qat = quantize_model(to_quantize=dense_model)
    assert sorted(w.layer.name for w in _wrappers(qat, QuantizeWrapper)) == ["fc", "out"]


@pytest.mark.parametrize("function, kwargs, message", [
    ("prune", {"pruning_policy": "PruneForLatencyOnXNNPack"},
     ("prune_low_magnitude: tfmot's pruning_policy= has no edgekit equivalent of the same meaning; choose the "
      "layers with select=")),
    ("prune", {"block_size": (1, 2)},
     ("tfmot's block_size=(1, 2) groups 2 output units; edgekit's block_size=K prunes runs of K consecutive "
      "input channels, tfmot's (K, 1)")),
    ("prune", {"block_pooling_type": "MAX"}, "edgekit ranks blocks by their mean magnitude"),
    ("prune", {"pruning_schedule": object()}, "use edgekit.optimize.pruning.PolynomialDecay or ConstantSparsity"),
    ("cluster", {"cluster_centroids_init": CentroidInitialization.RANDOM},
     "cluster_centroids_init=RANDOM: edgekit has no random centroids; use init= one of kmeans++, linear, density"),
    ("cluster", {"init": "linear", "cluster_centroids_init": "LINEAR"}, "init= is given twice"),
    ("qat", {"quantized_layer_name_prefix": "quant_"}, "NAME_quant"),
])
def test_tfmot_arguments_that_mean_something_else_are_one_clear_error(dense_model, function, kwargs, message):
    from edgekit.optimize.clustering import cluster_weights
    from edgekit.optimize.pruning import ConstantSparsity, prune_low_magnitude
    from edgekit.optimize.qat import quantize_model

    call = {"prune": lambda **kw: prune_low_magnitude(dense_model, **{"pruning_schedule": ConstantSparsity(0.5, 0),
                                                                      **kw}),
            "cluster": lambda **kw: cluster_weights(dense_model, 4, **kw),
            "qat": lambda **kw: quantize_model(dense_model, **kw)}[function]
    with pytest.raises(UsageError) as error:
        call(**kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)
