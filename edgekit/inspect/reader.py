"""``read_tflite``: a TFLite file -> :class:`TFLiteModel`, with edgekit's own flatbuffer reader.

No TensorFlow and no interpreter: it reads files no runtime here can run (custom ops,
sparse tensors, buffers stored after the flatbuffer as models > 2 GB are). Anything
that is not a well-formed TFLite flatbuffer raises :class:`ModelFormatError` naming the
file.
"""

from __future__ import annotations

import math
import mmap
import os
from pathlib import Path

import numpy as np

from edgekit.errors import InputFileError, ModelFormatError
from edgekit.inspect import schema as S
from edgekit.inspect.flatbuffer import Buffer, FlatbufferError, Table
from edgekit.inspect.model import (
    DimensionMetadata,
    Operator,
    Quantization,
    SignatureDef,
    Sparsity,
    Subgraph,
    Tensor,
    TFLiteModel,
)
from edgekit.inspect.sparse import MAX_DENSE_ELEMENTS, SparsityError, densify

Source = str | os.PathLike | bytes | bytearray | memoryview


CONVERT_HINT = "convert it with 'edgekit convert'"


def check_tflite_file(path: str | os.PathLike) -> Path:
    """``path``, if it is a file with the TFLite identifier: the header check commands do before any work.

    ``bench`` and ``deploy`` run the model elsewhere (a subprocess, a device), whose
    runtime would report a Keras file as "not a valid Flatbuffer buffer".
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such model file")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[4:8] != S.FILE_IDENTIFIER:
        kind = " (a zip archive: a Keras model?)" if head[:4] == b"PK\x03\x04" else ""
        raise ModelFormatError(f"{path}: not a TFLite model{kind}; {CONVERT_HINT}")
    return path


def read_tflite(source: Source) -> TFLiteModel:
    """Parse a ``.tflite`` file (path) or its bytes into a :class:`TFLiteModel`."""
    path, data = _load(source)
    label = str(path) if path is not None else "<bytes>"
    try:
        root = Buffer(data).root(S.FILE_IDENTIFIER)
    except FlatbufferError as err:
        raise ModelFormatError(f"{label}: not a TFLite model ({err}); {CONVERT_HINT}") from None
    try:
        return _parse_model(root, path, len(data))
    except (FlatbufferError, SparsityError) as err:
        raise ModelFormatError(f"{label}: corrupt TFLite file: {err}") from None


def _load(source: Source) -> tuple[Path | None, bytes | memoryview | mmap.mmap]:
    """The bytes to parse; files are memory-mapped so large models are not copied."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return None, source
    path = Path(source)
    if not path.exists():
        raise InputFileError(f"{path}: no such file; give the path of a .tflite model")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory; give the path of a .tflite model file")
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                raise ModelFormatError(f"{path}: empty file, not a TFLite model")
            return path, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise InputFileError(f"{path}: cannot read ({err.strerror})") from None


def _parse_model(root: Table, path: Path | None, size: int) -> TFLiteModel:
    buffers = [_buffer_view(b, root.buf) for b in root.tables(S.Model.BUFFERS)]
    external = _external_buffers(root)
    opcodes = [_opcode(code) for code in root.tables(S.Model.OPERATOR_CODES)]
    subgraphs = [
        _subgraph(index, graph, buffers, external, opcodes)
        for index, graph in enumerate(root.tables(S.Model.SUBGRAPHS))
    ]
    if not subgraphs:
        raise FlatbufferError("the model has no subgraph")
    return TFLiteModel(
        path=path,
        size_bytes=size,
        version=root.scalar(S.Model.VERSION, "uint32"),
        description=root.string(S.Model.DESCRIPTION) or "",
        subgraphs=subgraphs,
        signatures=[_signature(sig, subgraphs) for sig in root.tables(S.Model.SIGNATURE_DEFS)],
        metadata=_metadata(root, buffers),
        buffer_count=len(buffers),
    )


def _buffer_view(table: Table, buf: Buffer) -> memoryview:
    """A buffer's bytes: inline ``data``, or ``offset``/``size`` into the file (models > 2 GB)."""
    offset = table.scalar(S.Buffer.OFFSET, "uint64")
    length = table.scalar(S.Buffer.SIZE, "uint64")
    if offset > 1 and length > 0:  # offset 1 is the converter's "not yet placed" marker
        buf.check(offset, length, "buffer data")
        return buf.view[offset : offset + length]
    return table.bytes_view(S.Buffer.DATA) or memoryview(b"")


def _external_buffers(root: Table) -> dict[int, tuple[str, int]]:
    """External buffer id -> (group file name, length): data kept in a separate file."""
    groups = [g.string(S.ExternalBufferGroup.NAME) or "" for g in root.tables(S.Model.EXTERNAL_BUFFER_GROUPS)]
    found = {}
    for ext in root.tables(S.Model.EXTERNAL_BUFFERS):
        group = ext.scalar(S.ExternalBuffer.GROUP, "uint32")
        name = groups[group] if group < len(groups) else f"group {group}"
        found[ext.scalar(S.ExternalBuffer.ID, "uint32")] = (name, ext.scalar(S.ExternalBuffer.LENGTH, "uint64"))
    return found


def _opcode(table: Table) -> tuple[str, int, str | None, int]:
    """(name, builtin code, custom code, version) of one OperatorCode."""
    code = max(
        table.scalar(S.OperatorCode.DEPRECATED_BUILTIN_CODE, "int8"),
        table.scalar(S.OperatorCode.BUILTIN_CODE, "int32"),
    )
    custom = table.string(S.OperatorCode.CUSTOM_CODE) if code == S.CUSTOM_OPCODE else None
    name = (custom or "CUSTOM") if code == S.CUSTOM_OPCODE else S.builtin_name(code)
    return name, code, custom, table.scalar(S.OperatorCode.VERSION, "int32", 1)


def _subgraph(index, table, buffers, external, opcodes) -> Subgraph:
    tensors = [_tensor(i, t, buffers, external) for i, t in enumerate(table.tables(S.SubGraph.TENSORS))]
    operators = [_operator(i, op, opcodes) for i, op in enumerate(table.tables(S.SubGraph.OPERATORS))]
    graph = Subgraph(
        index=index,
        name=table.string(S.SubGraph.NAME) or "",
        tensors=tensors,
        operators=operators,
        inputs=_indices(table, S.SubGraph.INPUTS),
        outputs=_indices(table, S.SubGraph.OUTPUTS),
    )
    _check_tensor_refs(graph)
    return graph


def _check_tensor_refs(graph: Subgraph) -> None:
    """Every tensor index must exist; operators may use -1 for an omitted optional input."""
    count = len(graph.tensors)
    refs = [(f"the {kind} list", i, 0) for kind, indices in (("input", graph.inputs), ("output", graph.outputs))
            for i in indices]
    refs += [(f"operator {op.index} ({op.opcode})", i, -1) for op in graph.operators
             for i in op.inputs + op.outputs + op.intermediates]
    for owner, index, lowest in refs:
        if not lowest <= index < count:
            raise FlatbufferError(f"subgraph {graph.index}: {owner} refers to tensor {index} of {count}")


def _indices(table: Table, field_id: int) -> tuple[int, ...]:
    values = table.array(field_id, "int32")
    return tuple(int(v) for v in values) if values is not None else ()


def _tensor(index: int, table: Table, buffers, external) -> Tensor:
    ttype = S.tensor_type(table.scalar(S.Tensor.TYPE, "int8"))
    shape = _indices(table, S.Tensor.SHAPE)
    signature = _indices(table, S.Tensor.SHAPE_SIGNATURE) if table.has(S.Tensor.SHAPE_SIGNATURE) else shape
    buffer = table.scalar(S.Tensor.BUFFER, "uint32")
    if buffer >= len(buffers) and buffers:
        raise FlatbufferError(f"tensor {index} refers to buffer {buffer} of {len(buffers)}")
    raw = buffers[buffer] if buffers else memoryview(b"")
    sparsity_table = table.table(S.Tensor.SPARSITY)
    sparsity = _sparsity(sparsity_table) if sparsity_table is not None else None
    tensor = Tensor(
        index=index,
        name=table.string(S.Tensor.NAME) or f"#{index}",
        dtype=ttype.name,
        shape=shape,
        shape_signature=signature,
        buffer=buffer,
        bits=ttype.bits,
        nbytes=len(raw),
        quantization=_quantization(table.table(S.Tensor.QUANTIZATION)),
        sparsity=sparsity,
        is_variable=table.scalar(S.Tensor.IS_VARIABLE, "bool", False),
    )
    external_id = table.scalar(S.Tensor.EXTERNAL_BUFFER, "uint32")
    if external_id and external_id in external:
        group, length = external[external_id]
        tensor.nbytes, tensor.note = length, f"data in external file '{group}'"
    elif len(raw):
        tensor.data, tensor.note = _decode(raw, ttype, shape, sparsity)
    return tensor


def _decode(raw: memoryview, ttype: S.TensorType, shape, sparsity) -> tuple[np.ndarray | None, str | None]:
    """The constant as a numpy array in ``shape`` (or why it cannot be one)."""
    if ttype.storage is None:
        return None, f"{ttype.name} data is not numeric"
    count = math.prod(shape)
    if sparsity is not None:
        if count > MAX_DENSE_ELEMENTS:
            return None, f"sparse tensor of {count:,} elements is too large to densify"
        stored = _elements(raw, ttype, len(raw) * 8 // ttype.bits)
        return densify(stored, shape, sparsity), None
    needed = -(-count * ttype.bits // 8)
    if needed != len(raw):
        return None, f"buffer holds {len(raw)} bytes, shape {list(shape)} of {ttype.name} needs {needed}"
    return _elements(raw, ttype, count).reshape(shape), None


def _elements(raw: memoryview, ttype: S.TensorType, count: int) -> np.ndarray:
    """``count`` elements of ``ttype`` from little-endian bytes (sub-byte types unpacked, low bits first)."""
    if ttype.name == "bfloat16":
        return (np.frombuffer(raw, "<u2", count).astype(np.uint32) << 16).view(np.float32)
    if ttype.bits >= 8:
        return np.frombuffer(raw, np.dtype(ttype.storage).newbyteorder("<"), count)
    per_byte = 8 // ttype.bits
    packed = np.frombuffer(raw, np.uint8, -(-count // per_byte))
    shifts = np.arange(per_byte, dtype=np.uint8) * ttype.bits
    values = ((packed[:, None] >> shifts) & ((1 << ttype.bits) - 1)).ravel()[:count].astype(np.int16)
    if ttype.storage == "int8":  # sign-extend
        values = np.where(values >= 1 << (ttype.bits - 1), values - (1 << ttype.bits), values)
    return values.astype(ttype.storage)


def _quantization(table: Table | None) -> Quantization | None:
    scales = table.array(S.QuantizationParameters.SCALE, "float32") if table is not None else None
    if scales is None or len(scales) == 0:
        return None
    zero_points = table.array(S.QuantizationParameters.ZERO_POINT, "int64")
    if zero_points is None or len(zero_points) == 0:
        zero_points = np.zeros(len(scales), dtype=np.int64)
    return Quantization(
        scales=scales.astype(np.float32),
        zero_points=zero_points.astype(np.int64),
        quantized_dimension=table.scalar(S.QuantizationParameters.QUANTIZED_DIMENSION, "int32"),
        min=table.array(S.QuantizationParameters.MIN, "float32"),
        max=table.array(S.QuantizationParameters.MAX, "float32"),
    )


def _sparsity(table: Table) -> Sparsity:
    return Sparsity(
        traversal_order=_indices(table, S.SparsityParameters.TRAVERSAL_ORDER),
        block_map=_indices(table, S.SparsityParameters.BLOCK_MAP),
        dim_metadata=tuple(_dimension(d) for d in table.tables(S.SparsityParameters.DIM_METADATA)),
    )


def _dimension(table: Table) -> DimensionMetadata:
    D = S.DimensionMetadata
    if table.scalar(D.FORMAT, "int8") == S.DENSE:
        return DimensionMetadata("DENSE", dense_size=table.scalar(D.DENSE_SIZE, "int32"))
    return DimensionMetadata(
        "SPARSE_CSR",
        array_segments=_index_vector(table, D.ARRAY_SEGMENTS_TYPE, D.ARRAY_SEGMENTS),
        array_indices=_index_vector(table, D.ARRAY_INDICES_TYPE, D.ARRAY_INDICES),
    )


def _index_vector(table: Table, type_field: int, value_field: int) -> np.ndarray | None:
    """A SparseIndexVector union (Int32Vector / Uint16Vector / Uint8Vector) as an array."""
    kind = S.SPARSE_INDEX_VECTOR_KINDS.get(table.scalar(type_field, "uint8"))
    vector = table.table(value_field)
    if kind is None or vector is None:
        return None
    return vector.array(0, kind)


def _operator(index: int, table: Table, opcodes) -> Operator:
    opcode_index = table.scalar(S.Operator.OPCODE_INDEX, "uint32")
    if opcode_index >= len(opcodes):
        raise FlatbufferError(f"operator {index} uses opcode {opcode_index} of {len(opcodes)}")
    name, code, custom, version = opcodes[opcode_index]
    return Operator(
        index=index,
        opcode=name,
        builtin_code=code,
        custom_code=custom,
        version=version,
        inputs=_indices(table, S.Operator.INPUTS),
        outputs=_indices(table, S.Operator.OUTPUTS),
        intermediates=_indices(table, S.Operator.INTERMEDIATES),
        custom_options=table.bytes(S.Operator.CUSTOM_OPTIONS),
    )


def _signature(table: Table, subgraphs: list[Subgraph]) -> SignatureDef:
    index = table.scalar(S.SignatureDef.SUBGRAPH_INDEX, "uint32")
    if index >= len(subgraphs):
        raise FlatbufferError(f"signature refers to subgraph {index} of {len(subgraphs)}")

    def tensor_map(field_id: int) -> dict[str, int]:
        return {
            m.string(S.TensorMap.NAME) or "": m.scalar(S.TensorMap.TENSOR_INDEX, "uint32")
            for m in table.tables(field_id)
        }

    return SignatureDef(
        key=table.string(S.SignatureDef.SIGNATURE_KEY) or "",
        subgraph_index=index,
        inputs=tensor_map(S.SignatureDef.INPUTS),
        outputs=tensor_map(S.SignatureDef.OUTPUTS),
    )


def _metadata(root: Table, buffers: list[memoryview]) -> dict[str, bytes]:
    found = {}
    for entry in root.tables(S.Model.METADATA):
        buffer = entry.scalar(S.Metadata.BUFFER, "uint32")
        found[entry.string(S.Metadata.NAME) or ""] = bytes(buffers[buffer]) if buffer < len(buffers) else b""
    return found
