"""Test models whose weights already have the structure compact storage needs.

Made by placing trained weights where clustering, ternary training or block pruning
would put them (a test does not need those stages' fine-tuning, only their structure):
``int4_grid`` (80% zeros, the rest on one int4 grid per tensor), ``ternary`` (per output
channel {-a, 0, +a}), ``block_sparse`` (all-zero 1x16 blocks along the input axis).
``fc_scales_per_channel`` rewrites a file into a layout edgekit never writes, to show why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def trained(kind: str, data: Path, epochs: int = 8):
    """The digits CNN (``cnn``) or the issue's 64 -> 320 -> 128 -> 10 MLP (``mlp``), trained with seed 0
    (once per machine: see trained_models)."""
    import keras

    from helpers.trained_models import digits_classifier, trained as cached

    build = {"cnn": digits_classifier, "mlp": mlp_classifier}[kind]
    return keras.saving.load_model(cached(build, data, epochs=epochs))


def mlp_classifier():
    import keras

    from edgekit.models import compile_classifier

    return compile_classifier(keras.Sequential(
        [keras.Input((8, 8, 1), name="image"), keras.layers.Flatten(), keras.layers.Dense(320, activation="relu"),
         keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)], name="mlp"))


def int4_grid(model, sparsity: float = 0.8):
    for layer in model.layers:
        if layer.weights:
            kernel, bias = (np.asarray(w) for w in layer.weights)
            kernel = np.where(np.abs(kernel) < np.quantile(np.abs(kernel), sparsity), 0.0, kernel)
            step = np.abs(kernel).max() / 7
            layer.set_weights([np.round(kernel / step) * step, bias])
    return model


def ternary(model):
    for layer in model.layers:
        if layer.weights:
            kernel, bias = (np.asarray(w) for w in layer.weights)
            axes = tuple(range(kernel.ndim - 1))
            scale = np.mean(np.abs(kernel), axis=axes, keepdims=True)
            layer.set_weights([np.where(np.abs(kernel) > 0.7 * scale, np.sign(kernel) * scale, 0.0), bias])
    return model


def block_sparse(model, sparsity: float = 0.8, block: int = 16):
    """Zero the weakest 1 x ``block`` blocks of each Dense kernel (blocks run along its input axis)."""
    for layer in model.layers:
        if layer.weights and np.asarray(layer.weights[0]).ndim == 2:
            kernel, bias = (np.asarray(w) for w in layer.weights)
            rows, cols = kernel.shape
            if rows % block:
                continue
            norms = np.abs(kernel).reshape(rows // block, block, cols).sum(axis=1)
            keep = np.repeat(norms >= np.quantile(norms, sparsity), block, axis=0)
            layer.set_weights([kernel * keep, bias])
    return model


def fc_scales_per_channel(int4: bytes) -> bytes:
    """The int4 file with each FULLY_CONNECTED kernel's one scale (and its bias's) written once per output
    channel: the same numbers in the per-channel layout tflite-runtime 2.14 and TFLM cannot run."""
    from edgekit.convert.storage import tflite_edit

    model = tflite_edit.read_model(int4)
    for subgraph, op, opcode, index in tflite_edit.kernel_uses(model):
        if opcode != "FULLY_CONNECTED":
            continue
        channels = int(subgraph.tensors[index].shape[0])
        for tensor in (subgraph.tensors[i] for i in list(op.inputs)[1:] if i >= 0):
            q = tensor.quantization
            q.scale = np.repeat(np.asarray(q.scale, np.float32)[:1], channels)
            q.zeroPoint = np.zeros(channels, dtype=np.int64)
            q.quantizedDimension = 0
    return tflite_edit.write_model(model)
