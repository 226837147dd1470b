"""tfmot's side of bench/compression.py: the same recipes with tf_keras + tensorflow-model-optimization.

Run as a subprocess with ``TF_USE_LEGACY_KERAS=1`` (tfmot only works with legacy tf_keras):
``python bench/tfmot_recipes.py [--seed S] BASE_WEIGHTS.npz OUT_DIR RECIPE...`` (``S``: the
Keras/numpy/TF seed set before each recipe, default 0). For each recipe it
writes ``OUT_DIR/<recipe>.tflite`` (full int8; ``<recipe>_per_tensor.tflite`` with one weight
scale per tensor) and prints one JSON line
``{"recipe": ..., "seconds": ..., "error": ...}``; the parent evaluates the files.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EPOCHS, BATCH, LR = 10, 32, 1e-4


def digits_cnn() -> keras.Model:
    """edgekit.models.digits_cnn, built with tf_keras (same layers, same names)."""
    return keras.Sequential([
        keras.Input(shape=(8, 8, 1), name="image"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(128, activation="relu", name="fc1"),
        keras.layers.Dense(10, name="logits"),
    ])


def compile_(model: keras.Model) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def int8(model: keras.Model, x: np.ndarray, per_tensor: bool = False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter._experimental_disable_per_channel = per_tensor
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[i:i + 1]] for i in range(min(200, len(x))))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def prune(model, x, y, steps_per_epoch, n_of_m=None, dense_block=None):
    """80% polynomial (or 2:4 with ``n_of_m``); ``dense_block``: tfmot's block pruning, which it
    allows on Dense kernels only (convolutions are then pruned weight by weight)."""
    total = steps_per_epoch * EPOCHS
    frequency = min(100, steps_per_epoch)
    if n_of_m:
        schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, 0, frequency=frequency)
    else:
        end = max(1, int(total * 0.6) // frequency * frequency)
        schedule = tfmot.sparsity.keras.PolynomialDecay(0.0, 0.8, 0, end, frequency=frequency)

    def wrap(layer):
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            return layer
        block = dense_block if dense_block and isinstance(layer, keras.layers.Dense) else (1, 1)
        return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule, block_size=block,
                                                        sparsity_m_by_n=n_of_m)

    wrapped = compile_(keras.models.clone_model(model, clone_function=wrap))
    wrapped.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0,
                callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(wrapped)


def cluster(model, x, y, preserve_sparsity=False):
    init = tfmot.clustering.keras.CentroidInitialization.LINEAR  # as edgekit's side of bench/compression.py
    if preserve_sparsity:
        wrapped = tfmot.clustering.keras.cluster_weights(model, number_of_clusters=16, cluster_centroids_init=init,
                                                         preserve_sparsity=True)
    else:
        wrapped = tfmot.clustering.keras.cluster_weights(model, number_of_clusters=16, cluster_centroids_init=init)
    compile_(wrapped).fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    return tfmot.clustering.keras.strip_clustering(wrapped)


def run(recipe: str, base: keras.Model, x, y) -> keras.Model:
    steps = -(-len(x) // BATCH)
    model = keras.models.clone_model(base)
    model.set_weights(base.get_weights())
    if recipe == "int8":
        return model
    if recipe == "pruned":
        return prune(model, x, y, steps)
    if recipe == "clustered":
        return cluster(model, x, y)
    if recipe == "clustered_default":  # tfmot's own defaults: cluster_weights(number_of_clusters=16), k-means++ init
        wrapped = tfmot.clustering.keras.cluster_weights(model, number_of_clusters=16)
        compile_(wrapped).fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0)
        return tfmot.clustering.keras.strip_clustering(wrapped)
    if recipe == "pruned_clustered":
        return cluster(prune(model, x, y, steps), x, y, preserve_sparsity=True)
    if recipe == "pruned_clustered_blocks":  # (2, 1): 2 consecutive inputs of a Dense kernel (in, out)
        return cluster(prune(model, x, y, steps, dense_block=(2, 1)), x, y, preserve_sparsity=True)
    if recipe == "2:4":
        return prune(model, x, y, steps, n_of_m=(2, 4))
    raise SystemExit(f"unknown recipe {recipe}")


def main() -> None:
    args, seed = sys.argv[1:], 0
    if args[:1] == ["--seed"]:
        seed, args = int(args[1]), args[2:]
    weights, out_dir, recipes = args[0], Path(args[1]), args[2:]
    train = np.load(ROOT / "calibration" / "digits_train.npz")
    x, y = train["x"], train["y"]
    base = digits_cnn()
    stored = np.load(weights)
    base.set_weights([stored[f"w{i}"] for i in range(len(stored.files))])
    for recipe in recipes:
        keras.utils.set_random_seed(seed)
        started = time.perf_counter()
        try:
            model = run(recipe, base, x, y)
            seconds = time.perf_counter() - started
            stem = recipe.replace(':', '_')
            (out_dir / f"{stem}.tflite").write_bytes(int8(model, x))
            (out_dir / f"{stem}_per_tensor.tflite").write_bytes(int8(model, x, per_tensor=True))
            print(json.dumps({"recipe": recipe, "seconds": round(seconds, 2), "error": None}), flush=True)
        except Exception as exc:  # tfmot's known crashes are results too
            print(json.dumps({"recipe": recipe, "seconds": None,
                              "error": f"{type(exc).__name__}: {str(exc)[:200]}"}), flush=True)


if __name__ == "__main__":
    main()
