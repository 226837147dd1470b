"""Trim a rewritten .tflite to what its runtimes read, so a compact form is compact as a whole file.

Halving every kernel leaves the graph's own bytes, much of which the converter writes for
people and tools rather than for the interpreter: names of internal tensors, the
conversion record, internal shape signatures, an empty quantization table per float tensor,
one empty buffer per activation, and the
shape arithmetic a Keras ``Flatten`` with a dynamic batch becomes (Shape, StridedSlice,
Pack, Reshape) in front of a FULLY_CONNECTED that flattens its input by itself. Each step
removes one of these. What a runtime or tool reads stays: the signature, the names and
shape signatures of the inputs and outputs, every quantization parameter, ``has_rank``
(LiteRT's model layer takes a tensor without it as unranked) and both opcode fields
(LiteRT reads ``builtin_code``, old runtimes ``deprecated_builtin_code``). The writer
(``tflite_edit.write_model``) then stores identical vectors, strings and tables once and lays
each table's fields out largest first, without padding between them. The
caller verifies the trimmed file against its int8 reference like any compact form.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from edgekit.convert.storage import tflite_edit


def interface(subgraph: Any) -> set[int]:
    """Indices of the tensors a caller sees: the subgraph's inputs and outputs."""
    return {int(i) for i in subgraph.inputs} | {int(i) for i in subgraph.outputs}


def drop_internal_names(model: Any) -> None:
    """Names of internal tensors and of subgraphs only serve debugging (signatures refer to subgraphs by
    index); inputs and outputs keep a name."""
    for subgraph in model.subgraphs:
        seen = interface(subgraph)
        subgraph.name = None
        for index, tensor in enumerate(subgraph.tensors):
            if index not in seen:
                tensor.name = None


def name_interface_by_signature(model: Any) -> None:
    """Inputs and outputs take their signature names ("image", not "serving_default_image:0"): the names
    callers use, written once for both (the writer shares identical strings)."""
    for signature in model.signatureDefs or ():
        tensors = model.subgraphs[signature.subgraphIndex].tensors
        for entry in [*signature.inputs, *signature.outputs]:
            tensors[entry.tensorIndex].name = entry.name


CONVERTER_RECORDS = frozenset({b"CONVERSION_METADATA", b"min_runtime_version"})


def drop_conversion_record(model: Any) -> None:
    """The converter's description, its options record (``CONVERSION_METADATA``, read by telemetry only)
    and ``min_runtime_version``: the converter's value describes the int8 graph it wrote ("1.14.0"), not
    the rewritten file (no 1.x runtime reads int4); target profiles say which runtimes run a form.
    Other metadata (labels, normalization: the TFLite Support record) stays."""
    model.description = None
    model.metadata = [entry for entry in model.metadata or () if entry.name not in CONVERTER_RECORDS] or None


def drop_internal_shape_signatures(model: Any) -> None:
    """Runtimes recompute internal shapes from the inputs; only the interface declares dynamic dimensions."""
    for subgraph in model.subgraphs:
        seen = interface(subgraph)
        for index, tensor in enumerate(subgraph.tensors):
            if index not in seen:
                tensor.shapeSignature = None


def bypass_flatten(model: Any) -> None:
    """A RESHAPE to (batch, depth) read only by FULLY_CONNECTED ops of input depth ``depth``: those ops
    flatten their input to (elements / depth, depth) themselves, so they read the RESHAPE's input."""
    names = tflite_edit.opcode_names(model)
    for subgraph in model.subgraphs:
        readers: dict[int, list] = {}
        for op in subgraph.operators:
            for index in op.inputs:
                readers.setdefault(int(index), []).append(op)
        for op in subgraph.operators:
            if names[op.opcodeIndex] != "RESHAPE":
                continue
            out = int(op.outputs[0])
            shape = subgraph.tensors[out].shape
            users = readers.get(out, [])
            if out in interface(subgraph) or shape is None or len(shape) != 2 or not users or \
                    not all(_flattens(subgraph, user, names, out, int(shape[1])) for user in users):
                continue
            for user in users:
                user.inputs[0] = op.inputs[0]


def _flattens(subgraph: Any, op: Any, names: list[str], index: int, depth: int) -> bool:
    if names[op.opcodeIndex] != "FULLY_CONNECTED" or int(op.inputs[0]) != index or index in op.inputs[1:]:
        return False
    options = op.builtinOptions
    weights = subgraph.tensors[int(op.inputs[1])]
    return not (options is not None and options.keepNumDims) and len(weights.shape) == 2 and weights.shape[1] == depth


def drop_dead_ops(model: Any) -> None:
    """Operators whose outputs nothing reads (and no subgraph returns), until none is left; operators
    without outputs (variable assignments) stay."""
    for subgraph in model.subgraphs:
        while True:
            read = {int(i) for op in subgraph.operators for i in op.inputs} | {int(i) for i in subgraph.outputs}
            live = [op for op in subgraph.operators if not len(op.outputs) or any(int(o) in read for o in op.outputs)]
            if len(live) == len(subgraph.operators):
                break
            subgraph.operators = live


def drop_unused_tensors(model: Any) -> None:
    """Tensors no operator, subgraph interface or signature refers to; indices renumbered."""
    for position, subgraph in enumerate(model.subgraphs):
        used = interface(subgraph) | {int(i) for op in subgraph.operators
                                      for i in [*op.inputs, *op.outputs, *_list(op.intermediates)] if i >= 0}
        for signature in model.signatureDefs or ():
            if signature.subgraphIndex == position:
                used |= {entry.tensorIndex for entry in [*signature.inputs, *signature.outputs]}
        order = sorted(used)
        new = {old: index for index, old in enumerate(order)}
        subgraph.tensors = [subgraph.tensors[i] for i in order]
        for op in subgraph.operators:
            op.inputs, op.outputs = _renumber(op.inputs, new), _renumber(op.outputs, new)
            op.intermediates = _renumber(op.intermediates, new)
        subgraph.inputs, subgraph.outputs = _renumber(subgraph.inputs, new), _renumber(subgraph.outputs, new)
        for signature in model.signatureDefs or ():
            if signature.subgraphIndex == position:
                for entry in [*signature.inputs, *signature.outputs]:
                    entry.tensorIndex = new[entry.tensorIndex]


def _renumber(indices: Any, new: dict[int, int]) -> np.ndarray | None:
    """Tensor indices through ``new``; -1 (an omitted optional input) stays -1."""
    if indices is None:
        return None
    return np.array([new[int(i)] if i >= 0 else -1 for i in indices], dtype=np.int32)


def drop_empty_quantization(model: Any) -> None:
    """Quantization tables without a scale, zero point, range or details (the converter writes one for
    every float tensor): runtimes read such a table exactly as no table."""
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            q = tensor.quantization
            if q is not None and all(_empty_field(v) for v in (q.scale, q.zeroPoint, q.min, q.max, q.details)):
                tensor.quantization = None


def _empty_field(value: Any) -> bool:
    return value is None or (isinstance(value, (list, np.ndarray)) and len(value) == 0)


def drop_unused_opcodes(model: Any) -> None:
    used = sorted({op.opcodeIndex for subgraph in model.subgraphs for op in subgraph.operators})
    new = {old: index for index, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            op.opcodeIndex = new[op.opcodeIndex]


def share_empty_buffer(model: Any) -> None:
    """Every tensor without data points at buffer 0, the schema's empty sentinel."""
    if not _empty(model.buffers[0]):
        return
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            if _empty(model.buffers[tensor.buffer]):
                tensor.buffer = 0


def drop_unused_buffers(model: Any) -> None:
    """Buffers no tensor or metadata entry refers to any more; the rest renumbered (buffer 0 stays first)."""
    tensors = [tensor for subgraph in model.subgraphs for tensor in subgraph.tensors]
    entries = list(model.metadata or ())
    used = sorted({0} | {tensor.buffer for tensor in tensors} | {entry.buffer for entry in entries}
                  | set(_list(model.metadataBuffer)))
    new = {old: index for index, old in enumerate(used)}
    model.buffers = [model.buffers[i] for i in used]
    for item in [*tensors, *entries]:
        item.buffer = new[item.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = [new[int(i)] for i in model.metadataBuffer]


def _empty(buffer: Any) -> bool:
    return (buffer.data is None or len(buffer.data) == 0) and not buffer.offset


def _list(values: Any) -> list:
    return [] if values is None else [int(v) for v in values]


# In order: the flatten bypass leaves the shape arithmetic dead, dead ops leave tensors, tensors and
# dropped records leave buffers.
STEPS: tuple[tuple[str, Callable[[Any], None]], ...] = (
    ("internal tensor and subgraph names", drop_internal_names),
    ("inputs/outputs named by their signature names", name_interface_by_signature),
    ("conversion record (description, CONVERSION_METADATA, min_runtime_version)", drop_conversion_record),
    ("internal shape signatures", drop_internal_shape_signatures),
    ("empty quantization tables", drop_empty_quantization),
    ("FULLY_CONNECTED reads past the Flatten (its Shape, StridedSlice, Pack, Reshape go next)", bypass_flatten),
    ("dead operators", drop_dead_ops),
    ("unused tensors", drop_unused_tensors),
    ("unused operator codes", drop_unused_opcodes),
    ("one empty buffer for all activations", share_empty_buffer),
    ("unused buffers", drop_unused_buffers),
)


def trim(model: Any) -> None:
    """All :data:`STEPS`, in place."""
    for _, step in STEPS:
        step(model)
