"""Helpers shared by the digits-CNN compression benchmarks (``compression.py``, ``defaults_vs_tfmot.py``).

Only training, conversion-free measuring and evaluation: nothing here imports edgekit's
optimize engine, so a benchmark that drives the CLI does not depend on its internals.
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import keras
import numpy as np

from edgekit.evaluate import evaluate_model
from edgekit.fileio import atomic_write_bytes
from edgekit.models import compile_classifier, digits_cnn


def train_base(train, seed: int = 0) -> tuple[keras.Model, float]:
    """The benchmark's digits CNN: Adam 1e-3, 30 epochs, batch 32; returns it and the training seconds."""
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model = compile_classifier(digits_cnn(), 1e-3)
    model.fit(train.x, train.y, epochs=30, batch_size=32, verbose=0)
    return model, time.perf_counter() - started


def measure(flatbuffer: bytes, path: Path, val) -> dict:
    """Accuracy of the written .tflite on the validation split, its sizes, and its N:M / zero statistics."""
    atomic_write_bytes(path, flatbuffer)
    weights = int8_kernels(flatbuffer)
    total = sum(w.size for w in weights)
    return {"accuracy": round(evaluate_model(path, val).accuracy, 4), "bytes": len(flatbuffer),
            "gzip_bytes": len(gzip.compress(flatbuffer, 9)),
            "weight_zero_fraction": round(sum(int(np.sum(w == 0)) for w in weights) / total, 4) if total else None,
            "max_nonzeros_per_group_of_4": max((_max_per_group(w) for w in weights), default=None)}


def int8_kernels(flatbuffer: bytes) -> list[np.ndarray]:
    """The int8 weight tensors (rank >= 2) of a full-int8 model, in TFLite layout (out, ..., in)."""
    return [kernel for _, kernel in named_int8_kernels(flatbuffer)]


def named_int8_kernels(flatbuffer: bytes) -> list[tuple[str, np.ndarray]]:
    """(tensor name, int8 kernel) pairs of the file's constants, as :func:`int8_kernels`.

    Read from the flatbuffer (edgekit's reader), not an interpreter: an interpreter also
    hands out int8 activation tensors of rank >= 2, whose contents are not weights.
    """
    from edgekit.inspect import read_tflite

    return [(tensor.name, tensor.data) for tensor in read_tflite(flatbuffer).main.tensors
            if tensor.is_constant and tensor.dtype == "int8" and len(tensor.shape) >= 2 and tensor.data is not None]


def _max_per_group(kernel: np.ndarray) -> int:
    """Most non-zeros in any group of 4 consecutive input channels (TFLite's innermost axis)."""
    channels = kernel.shape[-1]
    padded = np.pad(kernel != 0, [(0, 0)] * (kernel.ndim - 1) + [(0, (-channels) % 4)])
    return int(padded.reshape(*padded.shape[:-1], -1, 4).sum(axis=-1).max())
