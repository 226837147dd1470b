"""Full-int8 TFLite quantization that can leave chosen layers in float (mixed precision).

The converter runs in two steps here: calibrate once (float model + recorded tensor
ranges), then quantize the calibrated model with a *denylist* of op outputs that stay
float -- the mechanism behind ``tf.lite.experimental.QuantizationDebugger``'s
``denylisted_nodes`` (TF 2.21). Calibrating once lets sensitivity analysis try many
layer subsets for the price of one calibration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from edgekit.errors import ConversionError
from edgekit.quiet import quiet_output


def calibrate(model, representative: np.ndarray | list[np.ndarray]) -> bytes:
    """The float ``.tflite`` of ``model`` with every tensor's min/max over ``representative``."""
    import tensorflow as tf

    arrays = representative if isinstance(representative, list) else [representative]
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([a[i:i + 1].astype(np.float32) for a in arrays]
                                                for i in range(len(arrays[0])))
    converter._experimental_calibrate_only = True  # noqa: SLF001 -- the documented debugger path
    try:
        with quiet_output():  # the export prints its signature, the calibrator its statistics
            return converter.convert()
    except Exception as exc:  # the converter raises many unrelated types
        raise ConversionError(f"could not calibrate model '{model.name}' for int8: {exc}") from exc


def quantize(calibrated: bytes, keep_float_nodes: Iterable[str] = (), *, int8_io: bool = False,
             per_tensor: bool = False) -> bytes:
    """Quantize a calibrated model to int8, except the ops whose outputs are ``keep_float_nodes``;
    ``per_tensor``: one weight scale per tensor, as ``convert_model(per_tensor=True)``."""
    import tensorflow as tf
    from tensorflow.lite.python import convert as tflite_convert

    io_type = tf.int8 if int8_io else tf.float32
    try:
        with quiet_output():
            return tflite_convert.mlir_quantize(
                calibrated, disable_per_channel=per_tensor, fully_quantize=int8_io, input_data_type=io_type,
                output_data_type=io_type,
                denylisted_nodes=sorted(keep_float_nodes) or None)
    except Exception as exc:
        raise ConversionError(f"int8 quantization of the calibrated model failed: {exc}") from exc


def layer_nodes(calibrated: bytes, layer_names: Sequence[str]) -> dict[str, list[str]]:
    """For each Keras layer, the output-tensor names of the TFLite ops it became.

    TensorFlow names a tensor after the Keras layer scopes it came from, e.g.
    ``model_1/conv1_1/Relu;model_1/conv1_1/convolution``: a layer owns an op when one
    of the op's output name scopes is the layer's name (plus the ``_N`` suffix export adds).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # noqa: SLF001 -- the only op listing LiteRT offers
    activations = {int(i) for op in ops for i in op["outputs"]} | {d["index"] for d in interpreter.get_input_details()}
    patterns = {layer: re.compile(re.escape(layer) + r"(_\d+)?") for layer in layer_names}
    found: dict[str, list[str]] = {name: [] for name in layer_names}
    for op in ops:
        node = names[int(op["outputs"][0])]
        owners = _owners(node, patterns)
        if not owners:  # e.g. the model's output op, named after the signature: use its weights' names
            constants = [names[int(i)] for i in op["inputs"] if int(i) >= 0 and int(i) not in activations]
            owners = {layer for const in constants for layer in _owners(const, patterns)}
        for layer in owners:
            found[layer].append(node)
    return found


def _owners(tensor_name: str, patterns: dict[str, re.Pattern]) -> set[str]:
    scopes = {part for piece in tensor_name.split(";") for part in piece.split("/")}
    return {layer for layer, pattern in patterns.items() if any(pattern.fullmatch(s) for s in scopes)}


def predict(tflite: bytes, x: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """Float outputs of a float-I/O ``.tflite`` on a whole batch at once (one resize, one invoke)."""
    from ai_edge_litert.interpreter import Interpreter

    arrays = x if isinstance(x, list) else [x]
    interpreter = Interpreter(model_content=tflite)
    details = interpreter.get_input_details()
    for detail, array in zip(details, arrays):
        interpreter.resize_tensor_input(detail["index"], array.shape)
    interpreter.allocate_tensors()
    for detail, array in zip(details, arrays):
        interpreter.set_tensor(detail["index"], array.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).astype(np.float32)
