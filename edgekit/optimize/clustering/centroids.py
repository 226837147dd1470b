"""Initial centroids and nearest-centroid assignment (numpy, run once when clustering starts).

``linear``: evenly spaced between the smallest and largest weight (tfmot's LINEAR), which
keeps the extreme weights representable. ``density``: evenly spaced in the weights'
cumulative distribution, i.e. more centroids where weights are dense (tfmot's
DENSITY_BASED). ``kmeans++``: k-means seeded with k-means++ (D² sampling), the lowest
squared error of the three.

Assignment is to the nearest centroid, or, with an entropy cost, entropy-constrained
(:func:`assign_entropy_constrained`): a weight near a border joins the more frequent
cluster, so the kernel's values need fewer bits once a lossless coder (gzip's Huffman
stage) packs them.
"""

from __future__ import annotations

import numpy as np


_KMEANS_ITERATIONS = 25
_ENTROPY_ITERATIONS = 10


def init_centroids(values: np.ndarray, number_of_clusters: int, init: str = "kmeans++",
                   seed: int = 0) -> np.ndarray:
    """``number_of_clusters`` sorted float32 centroids for the 1-D ``values``."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        return np.zeros(number_of_clusters, np.float32)
    if init == "linear":
        centroids = np.linspace(values.min(), values.max(), number_of_clusters)
    elif init == "density":
        centroids = np.quantile(values, np.linspace(0.0, 1.0, number_of_clusters))
    else:
        centroids = _kmeans(values, _kmeans_plus_plus(values, number_of_clusters, np.random.default_rng(seed)))
    return np.sort(centroids).astype(np.float32)


def assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid for every value (same shape as ``values``)."""
    centroids = np.sort(centroids)
    mids = (centroids[1:] + centroids[:-1]) / 2
    return np.searchsorted(mids, values).astype(np.int32)


def assign_entropy_constrained(values: np.ndarray, centroids: np.ndarray, entropy_cost: float,
                               counted: np.ndarray | None = None) -> np.ndarray:
    """Indices minimising ``(value - centroid)**2 + entropy_cost * spacing**2 * bits(cluster)``.

    ``bits`` is a cluster's ideal code length, -log2 of its share of the ``counted`` values
    (default: all), re-estimated from the assignment a few times; ``spacing`` is the mean
    gap between centroids, which makes the cost independent of the weights' scale. 0 is
    :func:`assign`. The centroids themselves are left to fine-tuning.
    """
    centroids = np.sort(np.asarray(centroids, np.float64))
    labels = assign(values, centroids)
    if entropy_cost <= 0 or centroids.size < 2:
        return labels
    values = np.asarray(values, np.float64)
    counted = np.ones(values.shape, bool) if counted is None else counted
    spacing = (centroids[-1] - centroids[0]) / (centroids.size - 1)
    for _ in range(_ENTROPY_ITERATIONS):
        share = np.bincount(labels[counted], minlength=centroids.size) / max(int(counted.sum()), 1)
        bits = -np.log2(np.maximum(share, 1.0 / max(int(counted.sum()), 1)))
        updated = assign_with_offsets(values, centroids, entropy_cost * spacing ** 2 * bits)
        if np.array_equal(updated, labels):
            break
        labels = updated
    return labels


def assign_with_offsets(values: np.ndarray, centroids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``argmin_k (value - centroids[k])**2 + offsets[k]`` for every value, ties to the lower k.

    Without the common ``value**2`` each cost is a line in the value, ``-2 c_k v + c_k**2 +
    o_k``; their lower envelope (a convex hull over the sorted centroids) splits the real line
    into intervals, so one binary search per value replaces a (values x clusters) table:
    ResNet50's 23M kernel weights take well under a second instead of tens of seconds.
    ``centroids`` must be sorted.
    """
    slopes, intercepts = -2.0 * centroids, centroids ** 2 + offsets
    hull: list[int] = []      # indices of the lines on the envelope, by increasing centroid
    starts: list[float] = []  # where each hull line becomes the lowest
    for k in range(centroids.size):
        if hull and slopes[k] == slopes[hull[-1]]:
            if intercepts[k] >= intercepts[hull[-1]]:
                continue  # the same centroid with a higher cost never wins
            hull.pop()
            starts.pop()
        while hull:
            j = hull[-1]
            start = (intercepts[k] - intercepts[j]) / (slopes[j] - slopes[k])
            if start > starts[-1]:
                break
            hull.pop()
            starts.pop()
        starts.append(-np.inf if not hull else start)
        hull.append(k)
    return np.asarray(hull, np.int32)[np.searchsorted(np.asarray(starts[1:]), values, side="left")]


def _kmeans_plus_plus(values: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centroids = [values[rng.integers(values.size)]]
    distance = (values - centroids[0]) ** 2
    for _ in range(1, k):
        total = distance.sum()
        pick = rng.choice(values.size, p=distance / total) if total > 0 else rng.integers(values.size)
        centroids.append(values[pick])
        distance = np.minimum(distance, (values - values[pick]) ** 2)
    return np.array(centroids)


def _kmeans(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Lloyd iterations in 1-D (sorted centroids make assignment a binary search)."""
    centroids = np.sort(centroids)
    for _ in range(_KMEANS_ITERATIONS):
        labels = assign(values, centroids)
        sums = np.bincount(labels, weights=values, minlength=centroids.size)
        counts = np.bincount(labels, minlength=centroids.size)
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        updated = np.sort(updated)
        if np.allclose(updated, centroids):
            break
        centroids = updated
    return centroids
