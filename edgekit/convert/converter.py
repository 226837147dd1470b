"""``convert_model``: a Keras model -> TFLite bytes, in one of five quantization modes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from edgekit.quiet import quiet_output
from edgekit.convert.verify import non_integer_ops
from edgekit.errors import ConversionError, NotFullIntegerError, UsageError
from edgekit.vocab import CALIBRATED_MODES, IO_TYPES, QUANTIZE_MODES

if TYPE_CHECKING:
    import keras


def check_options(quantize: str, io_type: str, has_calibration: bool, per_tensor: bool = False) -> None:
    """UsageError for a combination the converter cannot honour (checked before any work)."""
    if quantize not in QUANTIZE_MODES:
        raise UsageError(f"--quantize {quantize}: unknown mode; choose from {', '.join(QUANTIZE_MODES)}")
    if io_type not in IO_TYPES:
        raise UsageError(f"--io-type {io_type}: unknown type; choose from {', '.join(IO_TYPES)}")
    if io_type != "float32" and quantize != "int8":
        raise UsageError(f"--io-type {io_type} needs --quantize int8 (full-integer); with --quantize {quantize} "
                         "the model's inputs and outputs stay float32")
    if quantize in CALIBRATED_MODES and not has_calibration:
        raise UsageError(f"--quantize {quantize} needs representative inputs: add --calibration SPEC "
                         "(e.g. --calibration calibration/digits_train.npz)")
    if per_tensor and quantize not in CALIBRATED_MODES:
        raise UsageError(f"--per-tensor chooses the scales of full-integer weights; it needs --quantize int8 "
                         f"or int16x8, not {quantize}")


def convert_model(model: "keras.Model", *, quantize: str = "none",
                  representative: np.ndarray | list[np.ndarray] | None = None,
                  io_type: str = "float32", keep_float: Sequence[str] = (), per_tensor: bool = False,
                  sparsity: bool = False, where: str | None = None) -> bytes:
    """The TFLite flatbuffer of ``model``; same model and data -> same bytes.

    ``per_tensor`` gives each weight tensor one int8 scale instead of one per output
    channel. Clustered weights then keep exactly their N shared codes across the whole
    tensor (per-channel scales map the same centroid to a different code in every
    channel), which makes clustered and pruned models markedly smaller once compressed;
    on unclustered models with uneven channel ranges it can cost accuracy.

    ``int8`` is full integer: NotFullIntegerError names any op that stayed float (unless
    listed in ``keep_float``). ``sparsity`` asks for TFLite's sparse encoding of weights with
    enough zeros (``EXPERIMENTAL_SPARSITY``; see :mod:`edgekit.convert.storage.sparse`). ``representative`` holds one array per model input, samples
    along the first axis, used in order. ``where`` (default: the model's name) starts
    error messages, e.g. the model's file.
    """
    check_options(quantize, io_type, representative is not None, per_tensor)
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(_named_outputs(model))
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if sparsity:
        converter.optimizations = [*converter.optimizations, tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize in CALIBRATED_MODES:
        converter.representative_dataset = lambda: _samples(representative)
    if quantize == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = getattr(tf, io_type)
    if per_tensor:
        _disable_per_channel(converter)
    if quantize == "int16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    where = where or model.name
    flatbuffer = _run(converter, where)
    if quantize in CALIBRATED_MODES:
        floating = non_integer_ops(flatbuffer, quantize, keep_float)
        if floating:
            raise NotFullIntegerError(
                f"{where}: --quantize {quantize} left op(s) {', '.join(floating)} in float (TFLite has no "
                f"integer kernel for them); replace those layers, or use --quantize dynamic or float16")
    return flatbuffer


def _named_outputs(model: "keras.Model") -> "keras.Model":
    """A multi-output model with its outputs keyed by name, so the .tflite signature keeps the names
    (``y_<name>`` labels then match the file's outputs as they match the Keras model's)."""
    if len(model.outputs) < 2:
        return model
    import keras

    from edgekit.convert.keras_loader import output_names

    return keras.Model(model.inputs, dict(zip(output_names(model), model.outputs)), name=model.name)


def _disable_per_channel(converter) -> None:
    """The converter's (private, long-standing) switch for per-tensor weight scales."""
    if not hasattr(converter, "_experimental_disable_per_channel"):
        raise ConversionError("this TensorFlow's TFLite converter has no per-tensor weight option; "
                              "drop --per-tensor or use TensorFlow 2.x >= 2.5")
    converter._experimental_disable_per_channel = True


def _samples(representative: np.ndarray | list[np.ndarray]) -> Iterator[list[np.ndarray]]:
    """One sample at a time, batch dimension kept, as the converter's calibration expects."""
    inputs = representative if isinstance(representative, list) else [representative]
    for i in range(len(inputs[0])):
        yield [np.asarray(arr[i:i + 1], dtype=np.float32) for arr in inputs]


def _run(converter, name: str) -> bytes:
    """Convert quietly; turn the converter's MLIR dump into one line naming the ops."""
    try:
        with quiet_output():
            return converter.convert()
    except Exception as exc:  # ConverterError, and ValueError/RuntimeError from tracing or calibration
        message = str(exc)
        unsupported = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message)))
        if unsupported:
            raise ConversionError(f"{name}: TensorFlow op(s) {', '.join(unsupported)} have no TFLite builtin "
                                  "kernel; replace those layers") from None
        first = next((line.strip() for line in message.splitlines() if line.strip()), type(exc).__name__)
        raise ConversionError(f"{name}: the TFLite converter failed: {first[:300]}") from None
