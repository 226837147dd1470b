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
    """(tensor name, int8 kernel) pairs, as :func:`int8_kernels`."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    kernels = []
    for detail in interpreter.get_tensor_details():
        if detail["dtype"] == np.int8 and len(detail["shape"]) >= 2:
            try:
                kernels.append((detail["name"], interpreter.get_tensor(detail["index"])))
            except ValueError:
                continue
    return kernels


def _max_per_group(kernel: np.ndarray) -> int:
    """Most non-zeros in any group of 4 consecutive input channels (TFLite's innermost axis)."""
    channels = kernel.shape[-1]
    padded = np.pad(kernel != 0, [(0, 0)] * (kernel.ndim - 1) + [(0, (-channels) % 4)])
    return int(padded.reshape(*padded.shape[:-1], -1, 4).sum(axis=-1).max())
