"""Running a ``.tflite`` model on float data, as its own quantization parameters say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edgekit.errors import ModelFormatError
from edgekit.quiet import quiet_output

_CHUNK = 256  # samples per invoke when the batch dimension can be resized


class TFLiteModel:
    """A LiteRT interpreter that takes and returns float arrays, whatever the model's I/O types."""

    def __init__(self, path: str | Path):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_path=str(path))
        except (ValueError, RuntimeError) as exc:
            raise ModelFormatError(f"{path}: cannot load as a TFLite model ({str(exc).strip()[:200]})") from None
        self._inputs = self._interpreter.get_input_details()
        self.output_names, self._outputs = _outputs(self._interpreter)
        self.losses: list[str | None] | None = None  # a .tflite does not record its training loss

    @property
    def input_shapes(self) -> list[tuple]:
        """Per-sample input shapes, ``None`` for dynamic dimensions."""
        return [tuple(None if d < 0 else int(d) for d in i["shape_signature"][1:]) for i in self._inputs]

    @property
    def input_names(self) -> list[str]:
        return [i["name"] for i in self._inputs]

    @property
    def output_shapes(self) -> list[tuple]:
        """Per-sample output shapes, ``None`` for dynamic dimensions."""
        return [tuple(None if d < 0 else int(d) for d in o["shape_signature"][1:]) for o in self._outputs]

    @property
    def output_details(self) -> list[dict]:
        """The outputs' details (index, dtype, quantization) in ``output_names`` order."""
        return self._outputs

    @property
    def file_slots(self) -> list[int]:
        """For each output (``output_names`` order), its position in the file's own output list: the
        order other runtimes (the on-device agent) report outputs in."""
        file_order = [d["index"] for d in self._interpreter.get_output_details()]
        return [file_order.index(d["index"]) for d in self._outputs]

    def predict(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Every output, dequantized, for all samples (in batches the model accepts)."""
        fixed = int(self._inputs[0]["shape_signature"][0]) if self._inputs[0]["shape_signature"][0] > 0 else None
        batch = fixed or _CHUNK
        total = len(inputs[0])
        outputs = []
        for start in range(0, total, batch):
            chunk = [arr[start:start + batch] for arr in inputs]
            n = len(chunk[0])
            if fixed and n < fixed:  # pad the last batch of a fixed-batch model
                chunk = [np.concatenate([c, np.repeat(c[-1:], fixed - n, axis=0)]) for c in chunk]
            outputs.append([out[:n] for out in self._invoke(chunk)])
        return [np.concatenate(parts) for parts in zip(*outputs)]

    def _invoke(self, chunk: list[np.ndarray]) -> list[np.ndarray]:
        interp = self._interpreter
        for detail, arr in zip(self._inputs, chunk):
            if list(detail["shape"]) != list(arr.shape):
                interp.resize_tensor_input(detail["index"], list(arr.shape))
        with quiet_output():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            interp.allocate_tensors()
        for detail, arr in zip(interp.get_input_details(), chunk):
            interp.set_tensor(detail["index"], quantize(arr, detail))
        interp.invoke()
        return [dequantize(interp.get_tensor(detail["index"]), detail) for detail in self._outputs]


def _outputs(interp) -> tuple[list[str], list[dict]]:
    """Output names and details in the model's output order.

    The converter may list a Keras model's output tensors in any order; its signature
    names them ``output_0, output_1, ...`` in the Keras order (or by their own names).
    """
    signatures = interp.get_signature_list()
    if not signatures:
        details = interp.get_output_details()
        return [d["name"] for d in details], details
    key = next(iter(signatures))
    by_name = interp.get_signature_runner(key).get_output_details()
    numbered = all(re.fullmatch(r"output_\d+", name) for name in by_name)
    names = sorted(by_name, key=lambda name: int(name[7:])) if numbered else list(signatures[key]["outputs"])
    return names, [by_name[name] for name in names]


def quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float data -> the input's type, with its scale/zero-point when it is quantized."""
    dtype = np.dtype(detail["dtype"])
    scale, zero_point = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def dequantize(q: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if np.issubdtype(q.dtype, np.integer) and scale:
        return (q.astype(np.float32) - zero_point) * scale
    return q.astype(np.float32)
