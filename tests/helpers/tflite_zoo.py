"""Odd TFLite files that edgekit did not produce, for tests of inspect, bench, eval, ...

Each builder writes one ``.tflite`` into ``directory`` and returns its path. A file that
already exists is reused, so a session fixture (see ``tests/conftest.py``) builds
each model at most once per test run. The builders call TensorFlow's converter directly,
not ``edgekit convert``, so the files are what a third party would hand over.

    from helpers.tflite_zoo import build   # tests/ is on sys.path under pytest
    path = build("sparse_encoded", tmp_dir)

Models (all tiny; inputs are digits-like 8x8x1 unless said otherwise):

- ``float_digits``    plain float32 CNN trained briefly on the shipped digits data
- ``int8_digits``     the same, full-integer int8 with int8 input/output (per-channel conv)
- ``int8_depthwise``  full-int8 MobileNetV2-style block (depthwise conv quantized per
                      channel on axis 3, ReLU6, residual Add, global average pooling)
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
- ``handmade``        written field by field (no converter): int4/uint8/int16/bfloat16
                      constants, a block-sparse tensor, a CUSTOM op, two subgraphs, an
                      opcode > 127; constants in ``HANDMADE_*`` for exact checks
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
_DIGITS = ROOT / "calibration" / "digits_train.npz"


def _digits(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    data = np.load(_DIGITS)
    return data["x"][:limit], data["y"][:limit]


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _trained_digits_cnn(epochs: int = 3):
    """A small digits CNN (conv 8 -> conv 16 -> pool -> dense 32 -> dense 10), briefly trained (once: trained_models)."""
    import keras

    from helpers.trained_models import trained

    return keras.saving.load_model(trained(_small_digits_cnn, _DIGITS, epochs=epochs))


def _small_digits_cnn():
    import keras

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
    return model


def _representative(samples: int = 64):
    x, _ = _digits(samples)

    def gen():
        for i in range(len(x)):
            yield [x[i : i + 1]]

    return gen


def _convert(converter) -> bytes:
    """Convert without the converter's UserWarnings (e.g. "Statistics for quantized inputs were expected")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return converter.convert()


def _write(path: Path, flatbuffer: bytes) -> Path:
    from edgekit.fileio import atomic_write_bytes

    return atomic_write_bytes(path, flatbuffer)


def float_digits(directory: str | os.PathLike) -> Path:
    """Plain float32 digits CNN."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn())
    return _write(Path(directory) / "float_digits.tflite", _convert(converter))


def int8_digits(directory: str | os.PathLike) -> Path:
    """Full-integer int8 digits CNN with int8 input and output (per-channel conv weights)."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return _write(Path(directory) / "int8_digits.tflite", _convert(converter))


def int8_depthwise(directory: str | os.PathLike) -> Path:
    """Full-int8 MobileNetV2-style block: conv, depthwise (per-channel on axis 3), BN, ReLU6, residual Add."""
    import keras

    tf = _tf()
    keras.utils.set_random_seed(0)
    image = keras.Input((8, 8, 1), batch_size=1, name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", name="stem")(image)
    y = keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    y = keras.layers.BatchNormalization(name="bn")(y)
    y = keras.layers.ReLU(6.0, name="relu6")(y)
    y = keras.layers.Conv2D(8, 1, name="project")(y)
    x = keras.layers.Add(name="residual")([x, y])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(image, keras.layers.Dense(10, name="logits")(x))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative()
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return _write(Path(directory) / "int8_depthwise.tflite", _convert(converter))


def float16_weights(directory: str | os.PathLike) -> Path:
    """Float16 weights: constant fp16 buffers dequantized to float32 at load time."""
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return _write(Path(directory) / "float16_weights.tflite", _convert(converter))


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
    return _write(Path(directory) / "sparse_encoded.tflite", _convert(_sparse_converter(int8=False)))


def sparse_int8(directory: str | os.PathLike) -> Path:
    """Pruned int8 model (float I/O) whose int8 weights are stored sparse (CSR)."""
    return _write(Path(directory) / "sparse_int8.tflite", _convert(_sparse_converter(int8=True)))


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
    return _write(Path(directory) / "custom_op.tflite", _convert(converter))


def buffer_offset(directory: str | os.PathLike) -> Path:
    """Float digits CNN whose weights live after the flatbuffer (``Buffer.offset/size``).

    This is how the converter lays out models larger than 2 GB; forced here on a tiny one.
    """
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_keras_model(_trained_digits_cnn(epochs=1))
    converter._experimental_use_buffer_offset = True
    return _write(Path(directory) / "buffer_offset.tflite", _convert(converter))


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
    return _write(Path(directory) / "multi_io.tflite", _convert(converter))


# The constants of ``handmade``, so tests can compare what the parser decodes.
HANDMADE_INT4 = np.array([[-8, -1, 0, 7], [3, -3, 5, -6]], dtype=np.int8)  # packed low nibble first
HANDMADE_UINT8 = np.array([128, 0, 255, 128], dtype=np.uint8)  # zero point 128
HANDMADE_INT16 = np.array([[-300, 0], [0, 32000]], dtype=np.int16)
HANDMADE_BF16 = np.array([1.0, -2.5, 0.0], dtype=np.float32)  # exact in bfloat16
HANDMADE_BLOCK_SPARSE = np.zeros((4, 8), dtype=np.float32)  # 1x4 blocks, one per row
for _row in range(4):
    _block = _row % 2
    HANDMADE_BLOCK_SPARSE[_row, 4 * _block : 4 * _block + 4] = np.arange(1, 5) + 10 * _row
HANDMADE_CUSTOM_CODE = "EdgekitMystery"


def handmade(directory: str | os.PathLike) -> Path:
    """A flatbuffer written field by field with LiteRT's schema object API, no converter.

    What converters rarely emit: int4 (packed), uint8 with zero point 128, int16 and
    bfloat16 constants, int4 per-channel quantization, a 1x4 block-sparse float tensor
    in CSR, a CUSTOM op with custom options, a second subgraph whose op has a builtin
    code > 127 (stored in ``builtin_code``, the int8 field holding the placeholder 127),
    two signature defs, a description, metadata, and a tensor whose data lives in an
    external file (``ExternalBuffer``; the file itself is not written).
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    buffers = [fb.BufferT()]

    def buffer(raw: bytes) -> int:
        entry = fb.BufferT()
        entry.data = np.frombuffer(raw, dtype=np.uint8)
        buffers.append(entry)
        return len(buffers) - 1

    def tensor(name, ttype, shape, buffer_index=0, quant=None, sparsity=None):
        t = fb.TensorT()
        t.name, t.type, t.shape, t.buffer = name, ttype, list(shape), buffer_index
        t.quantization, t.sparsity = quant, sparsity
        return t

    def quant(scales, zero_points, axis=0):
        q = fb.QuantizationParametersT()
        q.scale, q.zeroPoint, q.quantizedDimension = list(scales), list(zero_points), axis
        return q

    def dim(format_, dense_size=0, segments=None, indices=None):
        d = fb.DimensionMetadataT()
        d.format, d.denseSize = format_, dense_size
        if segments is not None:
            d.arraySegmentsType, d.arraySegments = fb.SparseIndexVector.Int32Vector, fb.Int32VectorT()
            d.arraySegments.values = list(segments)
            d.arrayIndicesType, d.arrayIndices = fb.SparseIndexVector.Uint8Vector, fb.Uint8VectorT()
            d.arrayIndices.values = list(indices)
        return d

    nibbles = (HANDMADE_INT4.ravel() & 0xF).astype(np.uint8)
    int4_bytes = (nibbles[0::2] | (nibbles[1::2] << 4)).tobytes()
    bf16_bytes = (HANDMADE_BF16.view(np.uint32) >> 16).astype("<u2").tobytes()
    stored = np.concatenate([HANDMADE_BLOCK_SPARSE[r, 4 * (r % 2) : 4 * (r % 2) + 4] for r in range(4)])
    sparsity = fb.SparsityParametersT()
    sparsity.traversalOrder, sparsity.blockMap = [0, 1, 2], [1]
    sparsity.dimMetadata = [
        dim(fb.DimensionType.DENSE, 4),
        dim(fb.DimensionType.SPARSE_CSR, segments=[0, 1, 2, 3, 4], indices=[0, 1, 0, 1]),
        dim(fb.DimensionType.DENSE, 4),
    ]

    main = fb.SubGraphT()
    main.name = "main"
    main.tensors = [
        tensor("input", fb.TensorType.FLOAT32, (1, 4)),
        tensor("int4_weights", fb.TensorType.INT4, (2, 4), buffer(int4_bytes), quant([0.5, 0.25], [0, 0], 0)),
        tensor("uint8_weights", fb.TensorType.UINT8, (4,), buffer(HANDMADE_UINT8.tobytes()), quant([0.1], [128])),
        tensor("int16_weights", fb.TensorType.INT16, (2, 2), buffer(HANDMADE_INT16.astype("<i2").tobytes())),
        tensor("block_sparse", fb.TensorType.FLOAT32, (4, 8), buffer(stored.astype("<f4").tobytes()),
               sparsity=sparsity),
        tensor("bf16_weights", fb.TensorType.BFLOAT16, (3,), buffer(bf16_bytes)),
        tensor("output", fb.TensorType.FLOAT32, (1, 2)),
        tensor("external_weights", fb.TensorType.FLOAT32, (4,)),
    ]
    main.tensors[-1].externalBuffer = 1
    main.inputs, main.outputs = [0], [6]
    custom = fb.OperatorT()
    custom.opcodeIndex, custom.inputs, custom.outputs = 0, [0, 1, 2, 3, 4, 5], [6]
    custom.customOptions = list(b"opaque")

    second = fb.SubGraphT()
    second.name = "second"
    second.tensors = [tensor("x", fb.TensorType.FLOAT32, (2,)), tensor("y", fb.TensorType.FLOAT32, (2,))]
    second.inputs, second.outputs = [0], [1]
    wide = fb.OperatorT()
    wide.opcodeIndex, wide.inputs, wide.outputs = 1, [0], [1]
    main.operators, second.operators = [custom], [wide]

    custom_code = fb.OperatorCodeT()
    custom_code.builtinCode = custom_code.deprecatedBuiltinCode = fb.BuiltinOperator.CUSTOM
    custom_code.customCode, custom_code.version = HANDMADE_CUSTOM_CODE, 1
    wide_code = fb.OperatorCodeT()
    wide_code.deprecatedBuiltinCode, wide_code.builtinCode, wide_code.version = 127, 150, 1

    def signature(key, graph, inputs, outputs):
        sig = fb.SignatureDefT()
        sig.signatureKey, sig.subgraphIndex = key, graph
        sig.inputs = [_tensor_map(fb, n, i) for n, i in inputs]
        sig.outputs = [_tensor_map(fb, n, i) for n, i in outputs]
        return sig

    meta = fb.MetadataT()
    meta.name, meta.buffer = "min_runtime_version", buffer(b"2.3.0\0\0\0")

    model = fb.ModelT()
    model.version, model.description = 3, "hand-built by tests/helpers/tflite_zoo.py"
    model.operatorCodes, model.subgraphs, model.buffers = [custom_code, wide_code], [main, second], buffers
    model.signatureDefs = [signature("mystery", 0, [("x", 0)], [("y", 6)]), signature("second", 1, [("x", 0)], [("y", 1)])]
    model.metadata = [meta]
    group, external = fb.ExternalBufferGroupT(), fb.ExternalBufferT()
    group.name = "handmade_weights.bin"
    external.id, external.group, external.offset, external.length = 1, 0, 0, 16
    model.externalBufferGroups, model.externalBuffers = [group], [external]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return _write(Path(directory) / "handmade.tflite", bytes(builder.Output()))


def _tensor_map(fb, name: str, index: int):
    entry = fb.TensorMapT()
    entry.name, entry.tensorIndex = name, index
    return entry


ZOO: dict[str, Callable[[str | os.PathLike], Path]] = {
    "float_digits": float_digits,
    "int8_digits": int8_digits,
    "int8_depthwise": int8_depthwise,
    "float16_weights": float16_weights,
    "sparse_encoded": sparse_encoded,
    "sparse_int8": sparse_int8,
    "custom_op": custom_op,
    "buffer_offset": buffer_offset,
    "multi_io": multi_io,
    "handmade": handmade,
}


def build(name: str, directory: str | os.PathLike) -> Path:
    """The zoo model ``name`` in ``directory``, built only if it is not there yet."""
    path = Path(directory) / f"{name}.tflite"
    if path.is_file():
        return path
    Path(directory).mkdir(parents=True, exist_ok=True)
    return ZOO[name](directory)
