"""A third-party float ``.tflite`` made ready for AI Edge Quantizer (AEQ), without TensorFlow.

Files handed over by MediaPipe, model zoos or vendors differ from what TensorFlow's converter
writes today in three ways AEQ does not handle, each measured on MediaPipe's own models:

- Old files name their ops only in ``deprecated_builtin_code`` (``builtin_code`` is 0, ADD);
  AEQ reads ``builtin_code`` alone, so it sees every op as ADD: dynamic and weight-only
  recipes quantize nothing, and static ones write files LiteRT cannot prepare.
- Weights stored as float16 (or sparse float16) behind DEQUANTIZE/DENSIFY ops: AEQ
  quantizes kernels that are float32 constants, so those stay as they are.
- No signature: AEQ's calibration runs the model through a signature runner.

:func:`prepare` rewrites those three things (the opcode, float32 kernels read by the op
itself, a ``serving_default`` signature over the subgraph's inputs and outputs) and leaves
everything else alone. The result computes what the source computes, up to float16 rounding
that the source's own DEQUANTIZE did anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgekit.errors import ModelFormatError, first_line

SIGNATURE_KEY = "serving_default"
_EXPANDED_OPS = ("DEQUANTIZE", "DENSIFY")      # ops that only turn a stored constant into a float one
_FLOAT_CONSTANTS = ("float16", "float32")      # their inputs edgekit may expand (int8 ones are quantized weights)


@dataclass
class Prepared:
    """The file AEQ gets, and what was changed to make it (for the report)."""

    flatbuffer: bytes
    changes: list[str] = field(default_factory=list)
    signature: str = SIGNATURE_KEY


def prepare(flatbuffer: bytes, where: str) -> Prepared:
    """``flatbuffer`` with its opcodes, stored weights and signature as AEQ reads them.

    ModelFormatError if it is not a float model LiteRT can load: AEQ quantizes float
    graphs, and a file LiteRT cannot run (a custom op) cannot be verified either.
    """
    from ai_edge_litert.tools import flatbuffer_utils

    from edgekit.convert.storage.trim import drop_unused_buffers, drop_unused_tensors

    _check_loads(flatbuffer, where)
    _check_float(flatbuffer, where)
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))
    changes = []
    fixed = _fill_builtin_codes(model)
    if fixed:
        changes.append(f"{fixed} operator code(s) named in builtin_code (only deprecated_builtin_code was set)")
    expanded = _expand_stored_weights(model, flatbuffer)
    if expanded:
        _drop_stale_metadata_buffers(model)
        drop_unused_tensors(model)
        drop_unused_buffers(model)
        changes.append(f"{expanded} float16/sparse constant(s) stored as float32 for the ops that read them")
    if not model.signatureDefs:
        model.signatureDefs = [_signature(model)]
        changes.append(f"signature '{SIGNATURE_KEY}' added over the model's inputs and outputs")
    elif len(model.signatureDefs) > 1:
        keys = ", ".join(_text(s.signatureKey) for s in model.signatureDefs)
        raise ModelFormatError(f"{where}: has {len(model.signatureDefs)} signatures ({keys}); edgekit quantizes "
                               "single-signature models")
    if not changes:
        return Prepared(flatbuffer, [], _text(model.signatureDefs[0].signatureKey))
    return Prepared(bytes(flatbuffer_utils.convert_object_to_bytearray(model)), changes,
                    _text(model.signatureDefs[0].signatureKey))


def tensor_names(flatbuffer: bytes) -> list[str]:
    """Every tensor's name (what --keep-float may name besides an op)."""
    from edgekit.inspect import read_tflite

    return [t.name for g in read_tflite(flatbuffer).subgraphs for t in g.tensors]


def _check_loads(flatbuffer: bytes, where: str) -> None:
    from ai_edge_litert.interpreter import Interpreter

    from edgekit.quiet import quiet_output

    try:
        with quiet_output():
            Interpreter(model_content=flatbuffer).allocate_tensors()
    except (RuntimeError, ValueError) as exc:
        raise ModelFormatError(f"{where}: LiteRT cannot load it ({first_line(exc)}); edgekit quantizes .tflite "
                               "files it can run and verify") from None


def _check_float(flatbuffer: bytes, where: str) -> None:
    """Refuse a file whose activations are already integer: there is nothing float left to quantize."""
    from edgekit.inspect import read_tflite

    main = read_tflite(flatbuffer).main
    integer = [t.name for t in main.tensors if not t.is_constant and t.dtype in ("int8", "uint8", "int16")]
    if integer:
        raise ModelFormatError(f"{where}: already quantized (tensor '{integer[0]}' is integer); quantize its "
                               "float source instead")


def _fill_builtin_codes(model) -> int:
    """Set ``builtinCode`` from ``deprecatedBuiltinCode`` where only the latter names the op."""
    fixed = 0
    for code in model.operatorCodes:
        if code.deprecatedBuiltinCode > code.builtinCode:
            code.builtinCode = code.deprecatedBuiltinCode
            fixed += 1
    return fixed


def _expand_stored_weights(model, flatbuffer: bytes) -> int:
    """Make the output of each DEQUANTIZE/DENSIFY of a float constant a float32 constant itself.

    The op is removed (its output now holds the data); the stored constant, read by nothing
    any more, goes with the unused tensors. Values come from edgekit's own reader, which
    densifies sparse tensors.
    """
    from ai_edge_litert import schema_py_generated as schema

    from edgekit.inspect import read_tflite

    parsed = read_tflite(flatbuffer)
    names = [_opcode_name(code) for code in model.operatorCodes]
    expanded = 0
    for graph, subgraph in zip(parsed.subgraphs, model.subgraphs):
        values = {t.index: t.data for t in graph.tensors if t.is_constant and t.dtype in _FLOAT_CONSTANTS}
        kept = []
        for op in subgraph.operators:   # in execution order, so DENSIFY -> DEQUANTIZE chains fold
            source = int(op.inputs[0]) if op.inputs is not None and len(op.inputs) else -1
            if names[op.opcodeIndex] in _EXPANDED_OPS and source in values and values[source] is not None:
                out = int(op.outputs[0])
                data = np.asarray(values[source], dtype=np.float32)
                tensor = subgraph.tensors[out]
                buffer = schema.BufferT()
                buffer.data = np.frombuffer(data.tobytes(), dtype=np.uint8).copy()
                model.buffers.append(buffer)
                tensor.buffer, tensor.type, tensor.sparsity = len(model.buffers) - 1, schema.TensorType.FLOAT32, None
                values[out] = data
                expanded += 1
                continue
            kept.append(op)
        subgraph.operators = kept
    return expanded


def _drop_stale_metadata_buffers(model) -> None:
    """Entries of the deprecated ``metadata_buffer`` list that point past the buffers (MediaPipe's
    palm and pose detectors carry two): nothing can read them, and renumbering needs real ones."""
    if model.metadataBuffer is not None:
        model.metadataBuffer = [int(i) for i in model.metadataBuffer if 0 <= int(i) < len(model.buffers)]


def _opcode_name(code) -> str:
    from edgekit.inspect.schema import builtin_name

    return _text(code.customCode) if code.customCode else builtin_name(max(code.builtinCode,
                                                                           code.deprecatedBuiltinCode))


def _signature(model):
    """``serving_default`` over subgraph 0's inputs and outputs, named as their tensors are."""
    from ai_edge_litert import schema_py_generated as schema

    subgraph = model.subgraphs[0]

    def entries(indices) -> list:
        out = []
        for index in indices:
            entry = schema.TensorMapT()
            entry.name, entry.tensorIndex = _text(subgraph.tensors[index].name), int(index)
            out.append(entry)
        return out

    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = SIGNATURE_KEY, 0
    signature.inputs, signature.outputs = entries(subgraph.inputs), entries(subgraph.outputs)
    return signature


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
