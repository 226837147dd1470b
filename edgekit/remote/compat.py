"""Will this model run on this target? Checked on the host, before anything is sent.

Reads the model with edgekit's own flatbuffer parser (:mod:`edgekit.inspect`, no
TensorFlow) and compares it with the target profile: the quantizations it accepts and,
for a delegate such as the Edge TPU, full-integer ops and int8/uint8 inputs and outputs.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import PreflightError, UsageError
from edgekit.hints import hint
from edgekit.inspect import float_operators, is_full_integer, read_tflite
from edgekit.inspect.storage import check_storage
from edgekit.targets import Target

# Custom ops every stock TFLite runtime registers (BuiltinOpResolver, tensorflow/lite/core/kernels/register.cc).
STOCK_CUSTOM_OPS = frozenset({"NumericVerify", "Mfcc", "AudioSpectrogram", "TFLite_Detection_PostProcess"})
# What a runtime adds (exact names, or a prefix ending in "*"); a delegate adds its compiled_op.
RUNTIME_CUSTOM_OPS = {"tensorflow.lite": ("Flex*",)}


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
    """UsageError naming the model, the target and the fix if the target cannot run the model.

    A delegate target (Coral) lists every problem and every fix in one message, so the
    user converts (and compiles) once rather than meeting the next refusal after each fix.
    """
    model = read_tflite(path)
    quantization = quantization_of(model)
    if target.delegate is None and quantization not in target.quantizations:
        raise UsageError(f"{path}: a '{quantization}' model, but target {target.name} accepts "
                         f"{', '.join(target.quantizations)}. Fix: "
                         f"{hint('convert', path.name, quantize=target.quantizations[0])}")
    check_storage(model, target.storage, str(path), f"target {target.name}")
    if target.delegate is not None:
        _check_delegate(path, model, quantization, target)


def _check_delegate(path: Path, model, quantization: str, target: Target) -> None:
    delegate = target.delegate
    compiled = delegate.compiled_op is not None and delegate.compiled_op in model.custom_ops
    problems, quantize, io_type = [], None, "float32"   # quantize: the mode to re-convert in, if any
    if quantization not in target.quantizations and not compiled:
        problems.append(f"it is a '{quantization}' model (needs {', '.join(target.quantizations)})")
        quantize = target.quantizations[0]
    elif delegate.requires_full_int8 and not compiled:
        floats = sorted({op.opcode for _, op in float_operators(model)})
        if floats:
            problems.append(f"these ops compute in float: {', '.join(floats)}")
            quantize = "int8"
    io = model.main.input_tensors() + model.main.output_tensors()
    wrong = sorted({t.dtype for t in io if t.dtype not in delegate.io_types})
    if wrong:
        problems.append(f"its inputs/outputs are {', '.join(wrong)} (needs {'/'.join(delegate.io_types)})")
        io_type = delegate.io_types[0]
    if delegate.compiled_op is not None and not compiled:
        problems.append(f"it is not compiled for it (no {delegate.compiled_op} op)")
    if not problems:
        return
    fixes = []
    if quantize or io_type != "float32":
        fixes.append(hint("convert", path.name, quantize=quantize or quantization, io_type=io_type))
    if delegate.compiled_op is not None and not compiled:
        fixes.append(f"{delegate.compiler or 'its compiler'} {path.name}, then deploy the file it writes")
    raise UsageError(f"{path}: target {target.name} runs models on {delegate.library}, and this one cannot run there: "
                     f"{'; '.join(problems)}. Fix: {', then '.join(fixes)}")


def check_custom_ops(path: Path, target: Target, runtime: dict | None, *, where: str) -> None:
    """PreflightError before uploading if the model has custom ops the device's runtime cannot resolve."""
    provided = RUNTIME_CUSTOM_OPS.get((runtime or {}).get("name", ""), ()) + \
        ((target.delegate.compiled_op,) if target.delegate and target.delegate.compiled_op else ())
    missing = [op for op in read_tflite(path).custom_ops if op not in STOCK_CUSTOM_OPS and not _provided(op, provided)]
    if missing:
        name = (runtime or {}).get("name", "the runtime")
        raise PreflightError(f"{where}: {path.name} uses custom op(s) {', '.join(missing)} that {name} on the device "
                             "does not provide; nothing was uploaded; convert the model without them or install a "
                             "runtime built with them")


def _provided(op: str, provided: tuple[str, ...]) -> bool:
    return any(op == p or (p.endswith("*") and op.startswith(p[:-1])) for p in provided)
