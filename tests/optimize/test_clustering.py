"""Clustering: at most N values (N+1 with preserved zeros), per channel, centroids learn, prune -> cluster."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.models import compile_classifier
from edgekit.optimize.clustering import ClusterWeights, cluster_weights, init_centroids, strip_clustering
from edgekit.optimize.pruning import ConstantSparsity, UpdatePruningStep, prune_low_magnitude, strip_pruning


def _kernels(model):
    return {layer.name: layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")}


def test_linear_and_density_init_follow_their_definitions():
    values = np.random.default_rng(0).normal(size=5000)
    linear = init_centroids(values, 5, "linear")
    np.testing.assert_allclose(linear, np.linspace(values.min(), values.max(), 5), rtol=1e-6)
    density = init_centroids(values, 5, "density")
    np.testing.assert_allclose(density, np.quantile(values, [0, 0.25, 0.5, 0.75, 1]), rtol=1e-6)
    # density puts more centroids where the weights are: its inner centroids are closer to 0
    assert abs(density[1]) < abs(linear[1])
    kmeans = init_centroids(values, 5, "kmeans++")
    error = lambda c: np.mean(np.min((values[:, None] - c[None]) ** 2, axis=1))
    assert error(kmeans) < error(linear) and error(kmeans) < error(density)


@pytest.mark.parametrize("init", ["kmeans++", "linear", "density"])
def test_clustered_kernels_have_at_most_n_values_and_centroids_learn(trained, digits, init, tmp_path):
    x, y, xv, yv = digits
    clustered = cluster_weights(trained, 8, init=init)
    wrappers = [layer for layer in clustered.layers if isinstance(layer, ClusterWeights)]
    before = [w.centroids[0].numpy().copy() for w in wrappers]
    indices = [w.indices[0].numpy().copy() for w in wrappers]
    compile_classifier(clustered, 1e-3)
    clustered.fit(x[:512], y[:512], epochs=1, batch_size=32, verbose=0)
    assert any(not np.allclose(b, w.centroids[0].numpy()) for b, w in zip(before, wrappers))
    assert all(np.array_equal(i, w.indices[0].numpy()) for i, w in zip(indices, wrappers))
    path = tmp_path / "clustered.keras"
    clustered.save(path)
    plain = strip_clustering(keras.saving.load_model(path))
    assert len(plain.weights) == len(trained.weights)
    for name, kernel in _kernels(plain).items():
        assert np.unique(kernel).size <= 8, name
    np.testing.assert_allclose(plain.predict(xv, verbose=0), clustered.predict(xv, verbose=0), atol=1e-5)


def test_per_channel_clustering_has_at_most_n_values_per_output_channel(trained):
    plain = strip_clustering(cluster_weights(trained, 4, per_channel=True))
    for name, kernel in _kernels(plain).items():
        per_channel = kernel.reshape(-1, kernel.shape[-1])
        assert max(np.unique(per_channel[:, c]).size for c in range(per_channel.shape[1])) <= 4, name
        assert np.unique(kernel).size > 4, name  # the channels do not share centroids


def test_per_channel_depthwise_uses_tflite_channels():
    inputs = keras.Input((6, 6, 3))
    outputs = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(inputs)
    model = keras.Model(inputs, outputs)
    plain = strip_clustering(cluster_weights(model, 2, per_channel=True))
    kernel = plain.get_layer("dw").kernel.numpy()  # (3, 3, 3, 2): 6 TFLite channels
    per_channel = kernel.reshape(9, 6)
    assert all(np.unique(per_channel[:, c]).size <= 2 for c in range(6))


def test_prune_then_sparsity_preserving_cluster_keeps_zeros(trained, digits):
    x, y, _, _ = digits
    pruned = prune_low_magnitude(trained, ConstantSparsity(0.7, 0, frequency=10))
    compile_classifier(pruned, 1e-3)
    pruned.fit(x[:512], y[:512], epochs=1, batch_size=32, verbose=0, callbacks=[UpdatePruningStep()])
    sparse = strip_pruning(pruned)
    zeros = {name: kernel == 0 for name, kernel in _kernels(sparse).items()}
    clustered = cluster_weights(sparse, 6, preserve_sparsity=True)
    compile_classifier(clustered, 1e-2)  # a large step: zeros must not move even so
    clustered.fit(x[:512], y[:512], epochs=1, batch_size=32, verbose=0)
    for name, kernel in _kernels(strip_clustering(clustered)).items():
        assert np.array_equal(kernel == 0, zeros[name]), name
        assert np.unique(kernel).size <= 6 + 1, name
        assert np.unique(kernel[kernel != 0]).size <= 6, name


def test_per_tensor_int8_keeps_one_code_per_centroid(trained, digits):
    """Per-channel scales spread a shared centroid over many int8 codes; one scale per tensor does not."""
    from helpers.support import tflite_weights
    from edgekit.convert import convert_model

    x = digits[0]
    plain = strip_clustering(cluster_weights(trained, 8, init="linear", entropy_cost=0.0))
    per_channel = tflite_weights(convert_model(plain, quantize="int8", representative=x[:64]))
    per_tensor = tflite_weights(convert_model(plain, quantize="int8", representative=x[:64], per_tensor=True))
    assert per_tensor.keys() == per_channel.keys() and len(per_tensor) == 4
    for name, kernel in per_tensor.items():
        assert np.unique(kernel).size <= 8, name
    assert np.unique(per_channel[max(per_channel, key=lambda n: per_channel[n].size)]).size > 8  # fc1


def test_without_preserve_sparsity_zeros_are_not_kept(trained):
    sparse = strip_pruning(prune_low_magnitude(trained, ConstantSparsity(0.7)))
    for layer in sparse.layers:  # masks only update in training: prune by hand
        if hasattr(layer, "kernel"):
            kernel = layer.kernel.numpy()
            layer.kernel.assign(np.where(np.abs(kernel) < np.quantile(np.abs(kernel), 0.7), 0, kernel))
    plain = strip_clustering(cluster_weights(sparse, 4, init="linear"))
    assert np.mean(plain.get_layer("fc1").kernel.numpy() == 0) < 0.1


def _entropy(labels: np.ndarray) -> float:
    share = np.bincount(labels.ravel()) / labels.size
    share = share[share > 0]
    return float(-(share * np.log2(share)).sum())


def test_entropy_constrained_assignment_trades_distortion_for_fewer_bits():
    from edgekit.optimize.clustering.centroids import assign, assign_entropy_constrained

    values = np.random.default_rng(0).laplace(size=20000)
    centroids = init_centroids(values, 16, "linear")
    nearest = assign(values, centroids)
    assert np.array_equal(assign_entropy_constrained(values, centroids, 0.0), nearest)
    constrained = assign_entropy_constrained(values, centroids, 0.25)
    error = lambda labels: np.mean((values - centroids[labels]) ** 2)
    assert _entropy(constrained) < _entropy(nearest) - 0.1
    assert error(nearest) < error(constrained) < 4 * error(nearest)
    # only the counted values set the frequencies: pruned zeros must not make the cluster at 0 cheap
    with_zeros = np.concatenate([np.zeros(60000), values])
    centered = init_centroids(np.concatenate([values, -values]), 15, "linear")  # a centroid at 0
    central = lambda labels: np.sum(labels[60000:] == 7)
    assert central(assign_entropy_constrained(with_zeros, centered, 0.25)) > central(
        assign_entropy_constrained(with_zeros, centered, 0.25, counted=with_zeros != 0))


def test_entropy_cost_in_sparsity_preserving_clustering(trained, digits):
    """Zeros stay zero, at most N+1 values, and fc1's values take fewer bits than with nearest assignment."""
    x, y, _, _ = digits
    sparse = strip_pruning(prune_low_magnitude(trained, ConstantSparsity(0.7)))
    for layer in sparse.layers:  # masks only update in training: prune by hand
        if hasattr(layer, "kernel"):
            kernel = layer.kernel.numpy()
            layer.kernel.assign(np.where(np.abs(kernel) < np.quantile(np.abs(kernel), 0.7), 0, kernel))
    zeros = {name: kernel == 0 for name, kernel in _kernels(sparse).items()}
    kernels = {cost: _kernels(strip_clustering(cluster_weights(sparse, 16, init="linear", preserve_sparsity=True,
                                                               entropy_cost=cost)))
               for cost in (0.0, 0.5)}
    for name, kernel in kernels[0.5].items():
        assert np.array_equal(kernel == 0, zeros[name]), name
        assert np.unique(kernel).size <= 16 + 1, name
    fc1 = {cost: np.unique(k["fc1"][k["fc1"] != 0], return_inverse=True)[1] for cost, k in kernels.items()}
    assert _entropy(fc1[0.5]) < _entropy(fc1[0.0])
    for small in ("conv1", "logits"):  # 288 and 1,280 weights: under GZIP_AWARE_MIN_WEIGHTS, nearest centroid
        assert np.array_equal(kernels[0.5][small], kernels[0.0][small]), small


def test_bad_entropy_cost_is_a_usage_error(trained):
    with pytest.raises(UsageError, match="cluster entropy cost must be a number >= 0"):
        cluster_weights(trained, 4, entropy_cost=-1)


@pytest.mark.parametrize("clusters", [1, 0, 2.5])
def test_bad_cluster_counts_are_usage_errors(trained, clusters):
    with pytest.raises(UsageError, match="clusters"):
        cluster_weights(trained, clusters)


def test_bad_init_is_a_usage_error(trained):
    with pytest.raises(UsageError, match="kmeans"):
        cluster_weights(trained, 4, init="random")


@pytest.mark.parametrize("init, expected", [("kmeans++", 0.5), ("linear", 0.0), ("density", 0.0)])
def test_entropy_cost_defaults_to_the_gzip_aware_choice_of_the_init(trained, init, expected):
    """k-means clusters are balanced, so the entropy term costs nothing there; linear/density keep 0."""
    from edgekit.optimize.clustering.config import ClusterConfig

    assert ClusterConfig(init=init).entropy_cost == expected
    assert ClusterConfig(init=init, entropy_cost=0.25).entropy_cost == 0.25
    wrappers = [layer for layer in cluster_weights(trained, 4, init=init).layers if isinstance(layer, ClusterWeights)]
    assert wrappers and {w.entropy_cost for w in wrappers} == {expected}


def test_offset_assignment_matches_the_full_cost_table():
    """The lower-envelope assignment gives every value a cluster of minimal cost, as argmin over all would."""
    from edgekit.optimize.clustering.centroids import assign_with_offsets

    rng = np.random.default_rng(0)
    for trial in range(200):
        k = int(rng.integers(1, 20))
        centroids = np.sort(rng.normal(size=k))
        if trial % 4 == 0:
            centroids = np.sort(np.append(centroids[1:], centroids[0]))  # a repeated centroid
        offsets = rng.exponential(size=k) * rng.choice([0.0, 0.1, 1.0, 5.0])
        values = np.concatenate([rng.normal(size=300) * 1.5, centroids])
        table = (values[:, None] - centroids) ** 2 + offsets
        chosen = assign_with_offsets(values, centroids, offsets)
        np.testing.assert_allclose(table[np.arange(values.size), chosen], table.min(axis=1), rtol=0, atol=1e-12)
