"""Run a .tflite on sample inputs with one named runtime: the runtimes verification can use.

A registry, so a runtime is one function: ``litert`` (in process) and ``tflm`` (TFLite
Micro's Python interpreter, in a child process: TFLM prints on the C stderr and a file it
cannot run must not take edgekit down). Each takes the file's bytes and one float32 array
per model input (samples along axis 0) and returns one float array per output: int8/uint8
inputs and outputs are (de)quantized with the file's own parameters, so files with
different I/O types compare.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from edgekit.errors import StorageError, UsageError, first_line

Runner = Callable[[bytes, list[np.ndarray], str], list[np.ndarray]]
RUNNERS: dict[str, Runner] = {}


def register(name: str, runner: Runner) -> None:
    RUNNERS[name] = runner


def run_model(runtime: str, flatbuffer: bytes, inputs: list[np.ndarray], where: str) -> list[np.ndarray]:
    """The file's outputs on ``inputs`` under ``runtime``; StorageError naming ``where`` if it cannot run."""
    if runtime not in RUNNERS:
        raise UsageError(f"unknown runtime '{runtime}' for verification; choose from {', '.join(sorted(RUNNERS))}")
    return RUNNERS[runtime](flatbuffer, inputs, where)


def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return x.astype(dtype)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def dequantize_output(y: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail["quantization"]
    if np.dtype(detail["dtype"]).kind == "f" or not scale:
        return y.astype(np.float32)
    return ((y.astype(np.float32) - zero) * scale).astype(np.float32)


def _litert(flatbuffer: bytes, inputs: list[np.ndarray], where: str) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    from edgekit.quiet import quiet_output

    try:
        with quiet_output():
            interpreter = Interpreter(model_content=flatbuffer)
            interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise StorageError(f"{where}: LiteRT cannot load the file: {first_line(exc)}") from None
    ins, outs = interpreter.get_input_details(), interpreter.get_output_details()
    results: list[list[np.ndarray]] = [[] for _ in outs]
    for i in range(len(inputs[0])):
        for detail, x in zip(ins, inputs):
            interpreter.set_tensor(detail["index"], quantize_input(x[i:i + 1], detail))
        interpreter.invoke()
        for slot, detail in enumerate(outs):
            results[slot].append(dequantize_output(interpreter.get_tensor(detail["index"]), detail))
    return [np.concatenate(r) for r in results]


_TFLM_CHILD = """
import sys
import numpy as np
from tflite_micro import runtime
model, data, out, count = sys.argv[1:5]
arrays = np.load(data)
inputs = [arrays[f"x{i}"] for i in range(len(arrays.files))]
interpreter = runtime.Interpreter.from_bytes(open(model, "rb").read(), arena_size=1 << 26)
ins = [interpreter.get_input_details(i) for i in range(len(inputs))]
outputs = {}
for n in range(len(inputs[0])):
    for i, (x, d) in enumerate(zip(inputs, ins)):
        scale, zero = d["quantization_parameters"]["scales"], d["quantization_parameters"]["zero_points"]
        v = x[n:n + 1]
        if np.dtype(d["dtype"]).kind != "f":
            info = np.iinfo(d["dtype"])
            v = np.clip(np.round(v / scale[0] + zero[0]), info.min, info.max)
        interpreter.set_input(v.astype(d["dtype"]).reshape(d["shape"]), i)
    interpreter.invoke()
    for k in range(int(count)):
        d = interpreter.get_output_details(k)
        y = interpreter.get_output(k).astype(np.float32)
        scales = d["quantization_parameters"]["scales"]
        if np.dtype(d["dtype"]).kind != "f" and len(scales):
            y = (y - d["quantization_parameters"]["zero_points"][0]) * scales[0]
        outputs.setdefault(f"y{k}", []).append(y)
np.savez(out, **{k: np.concatenate(v) for k, v in outputs.items()})
"""


def _tflm(flatbuffer: bytes, inputs: list[np.ndarray], where: str) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory(prefix="edgekit-tflm-") as tmp:
        model, data, out = Path(tmp, "model.tflite"), Path(tmp, "inputs.npz"), Path(tmp, "outputs.npz")
        model.write_bytes(flatbuffer)
        np.savez(data, **{f"x{i}": np.asarray(x, np.float32) for i, x in enumerate(inputs)})
        done = subprocess.run([sys.executable, "-c", _TFLM_CHILD, str(model), str(data), str(out),
                               str(_output_count(flatbuffer))],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not out.exists():
            lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
            reason = lines[-1][:200] if lines else f"exit status {done.returncode}"
            raise StorageError(f"{where}: TFLite Micro cannot run the file: {reason}")
        arrays = np.load(out)
        return [arrays[f"y{k}"] for k in range(len(arrays.files))]


def _output_count(flatbuffer: bytes) -> int:
    from edgekit.inspect import read_tflite

    return len(read_tflite(flatbuffer).main.outputs)


register("litert", _litert)
register("tflm", _tflm)
