"""Will this model run on this target? Checked on the host, before anything is sent.

Reads the model with edgekit's own flatbuffer parser (:mod:`edgekit.inspect`, no
TensorFlow) and compares it with the target profile: the quantizations it accepts and,
for a delegate such as the Edge TPU, full-integer ops and int8/uint8 inputs and outputs.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import UsageError
from edgekit.inspect import float_operators, is_full_integer, read_tflite
from edgekit.inspect.storage import check_storage
from edgekit.targets import Target


def quantization_of(model) -> str:
    """The ``edgekit convert --quantize`` mode a parsed model looks like it was made with."""
    tensors = [t for graph in model.subgraphs for t in graph.tensors]
    if is_full_integer(model):
        return "int16x8" if any(t.dtype == "int16" and not t.is_constant for t in tensors) else "int8"
    if any(t.dtype == "float16" and t.is_constant for t in tensors):
        return "float16"
    if any(t.dtype in ("int8", "uint8") and t.is_constant for t in tensors):
        return "dynamic"
    return "none"


def check_model_for_target(path: Path, target: Target) -> None:
    """UsageError naming the model, the target and the fix if the target cannot run the model."""
    model = read_tflite(path)
    quantization = quantization_of(model)
    if quantization not in target.quantizations:
        raise UsageError(f"{path}: a '{quantization}' model, but target {target.name} accepts "
                         f"{', '.join(target.quantizations)}; convert with --quantize {target.quantizations[0]}")
    check_storage(model, target.storage, str(path), f"target {target.name}")
    delegate = target.delegate
    if delegate is None:
        return
    if delegate.requires_full_int8:
        floats = sorted({op.opcode for _, op in float_operators(model)})
        if floats:
            raise UsageError(f"{path}: {target.name}'s {delegate.library} needs a full-integer model; these ops "
                             f"compute in float: {', '.join(floats)}; convert with --quantize int8")
    io = model.main.input_tensors() + model.main.output_tensors()
    wrong = sorted({t.dtype for t in io if t.dtype not in delegate.io_types})
    if wrong:
        raise UsageError(f"{path}: {target.name}'s {delegate.library} needs {'/'.join(delegate.io_types)} inputs "
                         f"and outputs, this model has {', '.join(wrong)}; convert with --io-type int8")
