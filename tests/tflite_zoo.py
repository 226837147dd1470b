"""Odd TFLite files that edgekit did not produce, for tests of inspect, bench, eval, ...

Each builder writes one ``.tflite`` into ``directory`` and returns its path. A file that
already exists is reused, so a session fixture (see ``tests/core/conftest.py``) builds
each model at most once per test run. The builders call TensorFlow's converter directly,
not ``edgekit convert``, so the files are what a third party would hand over.

    from tflite_zoo import build   # tests/ is on sys.path under pytest
    path = build("sparse_encoded", tmp_dir)

Models (all tiny; inputs are digits-like 8x8x1 unless said otherwise):

- ``float_digits``    plain float32 CNN trained briefly on the shipped digits data
- ``int8_digits``     the same, full-integer int8 with int8 input/output (per-channel conv)
- ``float16_weights`` float16 weights (DEQUANTIZE ops feed float32 kernels)
- ``sparse_encoded``  float, heavily pruned weights stored in TFLite's sparse format
                      (``sparsity`` params: CSR dim metadata on the convs and the 2:4-pruned
                      logits layer, a 1x4 block map on fc1); DENSIFY ops expand them
- ``sparse_int8``     the same pruning, int8 weights stored sparse (CSR), float I/O
- ``custom_op``       a CUSTOM op (``BesselI1e``, a TF op with no TFLite builtin,
                      converted with ``allow_custom_ops``): no runtime can run it
- ``buffer_offset``   float CNN with its weights stored after the flatbuffer (offset/size
                      buffers, the layout of models > 2 GB)
- ``multi_io``        two inputs (image 8x8x1, features 5) and two outputs
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
_DIGITS = ROOT / "calibration" / "digits_train.npz"


def _digits(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(_DIGITS)
    return data["x"][:limit], data["y"][:limit]


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _trained_digits_cnn(epochs: int = 3):
    """A small digits CNN (conv 8 -> conv 16 -> pool -> dense 32 -> dense 10), briefly trained."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1), batch_size=1, name="image"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(32, activation="relu", name="fc1"),
            keras.layers.Dense(10, name="logits"),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = _digits()
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


def _representative(samples: int = 64):
    x, _ = _digits(samples)

    def gen():
        for i in range(len(x)):
            yield [x[i : i + 1]]

    return gen


def _write(path: Path, flatbuffer: bytes) -> Path:
    from edgekit.fileio import atomic_write_bytes

    return atomic_write_bytes(path, flatbuffer)


def float_digits(directory: str | os.PathLike) -> Path:
    """Plain float32 digits CNN."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn())
    return _write(Path(directory) / "float_digits.tflite", converter.convert())


def int8_digits(directory: str | os.PathLike) -> Path:
    """Full-integer int8 digits CNN with int8 input and output (per-channel conv weights)."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return _write(Path(directory) / "int8_digits.tflite", converter.convert())


def float16_weights(directory: str | os.PathLike) -> Path:
    """Float16 weights: constant fp16 buffers dequantized to float32 at load time."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return _write(Path(directory) / "float16_weights.tflite", converter.convert())


def _prune_in_place(model) -> None:
    """Zero most weights: 90% random on convs, 1x4 blocks + 2:4 on the dense layers.

    Dense kernels are (in, out) in Keras and (out, in) in TFLite, so groups of 4 along
    Keras axis 0 are groups of 4 along TFLite's input-channel (last) axis.
    """
    rng = np.random.default_rng(0)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        kernel = weights[0]
        if kernel.ndim == 4:  # conv: unstructured
            kernel = kernel * (rng.random(kernel.shape) < 0.1)
        elif layer.name == "fc1":  # keep 1 block of 4 input channels in 5
            cin, cout = kernel.shape
            keep = rng.random((cin // 4, cout)) < 0.2
            kernel = kernel * np.repeat(keep, 4, axis=0)
        else:  # 2:4 along input channels: keep the 2 largest of each group of 4
            cin, cout = kernel.shape
            groups = np.abs(kernel).reshape(cin // 4, 4, cout)
            rank = np.argsort(np.argsort(-groups, axis=1), axis=1)
            kernel = kernel * (rank < 2).reshape(cin, cout)
        weights[0] = kernel.astype(np.float32)
        layer.set_weights(weights)


def _sparse_converter(int8: bool):
    tf = _tf()
    model = _trained_digits_cnn(epochs=1)
    _prune_in_place(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
    if int8:
        converter.optimizations.append(tf.lite.Optimize.DEFAULT)
        converter.representative_dataset = _representative()
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter


def sparse_encoded(directory: str | os.PathLike) -> Path:
    """Pruned float model with sparse-encoded weights: CSR convs, a 1x4 block map on fc1."""
    return _write(Path(directory) / "sparse_encoded.tflite", _sparse_converter(int8=False).convert())


def sparse_int8(directory: str | os.PathLike) -> Path:
    """Pruned int8 model (float I/O) whose int8 weights are stored sparse (CSR)."""
    return _write(Path(directory) / "sparse_int8.tflite", _sparse_converter(int8=True).convert())


def custom_op(directory: str | os.PathLike) -> Path:
    """A float model with a CUSTOM op (``BesselI1e``) between two dense layers."""
    tf = _tf()
    w1 = tf.constant(np.random.default_rng(1).normal(size=(64, 16)).astype(np.float32))
    w2 = tf.constant(np.random.default_rng(2).normal(size=(16, 10)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 1], tf.float32, name="image")])
    def forward(image):
        hidden = tf.math.bessel_i1e(tf.matmul(tf.reshape(image, [1, 64]), w1))
        return tf.matmul(hidden, w2)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([forward.get_concrete_function()], forward)
    converter.allow_custom_ops = True
    return _write(Path(directory) / "custom_op.tflite", converter.convert())


def buffer_offset(directory: str | os.PathLike) -> Path:
    """Float digits CNN whose weights live after the flatbuffer (``Buffer.offset/size``).

    This is how the converter lays out models larger than 2 GB; forced here on a tiny one.
    """
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn(epochs=1))
    converter._experimental_use_buffer_offset = True
    return _write(Path(directory) / "buffer_offset.tflite", converter.convert())


def multi_io(directory: str | os.PathLike) -> Path:
    """Two inputs (image, features) and two outputs (class logits, a regression value)."""
    import keras

    tf = _tf()
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1), batch_size=1, name="image")
    features = keras.Input((5,), batch_size=1, name="features")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(image)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Concatenate(name="concat")([x, keras.layers.Dense(8, name="feat_fc")(features)])
    logits = keras.layers.Dense(10, name="logits")(x)
    value = keras.layers.Dense(1, name="value")(x)
    model = keras.Model([image, features], [logits, value], name="multi_io")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return _write(Path(directory) / "multi_io.tflite", converter.convert())


ZOO: dict[str, Callable[[str | os.PathLike], Path]] = {
    "float_digits": float_digits,
    "int8_digits": int8_digits,
    "float16_weights": float16_weights,
    "sparse_encoded": sparse_encoded,
    "sparse_int8": sparse_int8,
    "custom_op": custom_op,
    "buffer_offset": buffer_offset,
    "multi_io": multi_io,
}


def build(name: str, directory: str | os.PathLike) -> Path:
    """The zoo model ``name`` in ``directory``, built only if it is not there yet."""
    path = Path(directory) / f"{name}.tflite"
    if path.is_file():
        return path
    Path(directory).mkdir(parents=True, exist_ok=True)
    return ZOO[name](directory)
