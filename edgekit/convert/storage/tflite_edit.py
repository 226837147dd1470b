"""Read a .tflite into TensorFlow's mutable flatbuffer objects and write it back.

The storage forms rewrite weight tensors of a converted file in place (type, packing,
scales); TensorFlow ships the generated object API for that (``schema_py_generated``),
so edgekit does not carry a second writer. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

FILE_IDENTIFIER = b"TFL3"   # the schema's file_identifier


def read_model(flatbuffer: bytes) -> Any:
    """The file as a mutable ``ModelT`` (buffers are numpy uint8 arrays)."""
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.read_model_from_bytearray(bytearray(flatbuffer))


def write_model(model: Any, largest_first: bool = True) -> bytes:
    """The file of ``model``, identical vectors (zero points, scales, shapes, data), strings, quantization
    parameters and operator options stored once: flatbuffer tables may share them (the format only
    stores offsets), and ``model`` is left as it was. ``largest_first`` lays each table's fields out
    without padding between them (False: the object API's schema order, for measuring the difference)."""
    import copy

    model = copy.deepcopy(model)
    shared: dict[tuple, _PackedOnce] = {}
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            tensor.quantization = _share(tensor.quantization, shared)
        for op in subgraph.operators:
            op.builtinOptions = _share(op.builtinOptions, shared)
    builder = _sharing_builder(largest_first)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


class _PackedOnce:
    """An object-API table packed once per file, however many tables refer to it."""

    def __init__(self, table: Any) -> None:
        self.table, self.offset = table, None

    def Pack(self, builder: Any) -> int:  # noqa: N802 (the object API's name)
        if self.offset is None:
            self.offset = self.table.Pack(builder)
        return self.offset


def _share(table: Any, shared: dict) -> Any:
    """One :class:`_PackedOnce` per distinct content of a flat table (scalars and arrays only)."""
    if table is None:
        return None
    content = []
    for name, value in sorted(vars(table).items()):
        if isinstance(value, np.ndarray):
            value = (value.dtype.str, value.shape, value.tobytes())
        elif isinstance(value, list):
            value = tuple(value)
        elif value is not None and not isinstance(value, (bool, int, float, bytes, str)):
            return table   # a nested table: packed as it is
        content.append((name, value))
    return shared.setdefault((type(table).__name__, tuple(content)), _PackedOnce(table))


def _sharing_builder(largest_first: bool) -> Any:
    import flatbuffers

    class SharingBuilder(flatbuffers.Builder):
        """Also lays out each table's fields largest first, as flatc's C++ builders do: the Python
        object API adds them in schema order, which pads after every small field."""

        def __init__(self) -> None:
            super().__init__(1024)
            self.shared: dict[tuple, int] = {}
            self.fields: list[tuple[int, Any]] | None = None

        def StartObject(self, numfields: int) -> None:  # noqa: N802
            super().StartObject(numfields)
            self.fields = [] if largest_first else None

        def PrependSlot(self, flags: Any, o: int, x: Any, d: Any) -> None:  # noqa: N802
            parent = super(SharingBuilder, self)
            self._field(flags.bytewidth, lambda: parent.PrependSlot(flags, o, x, d))

        def PrependUOffsetTRelativeSlot(self, o: int, x: int, d: int) -> None:  # noqa: N802
            parent = super(SharingBuilder, self)
            self._field(4, lambda: parent.PrependUOffsetTRelativeSlot(o, x, d))

        def EndObject(self) -> int:  # noqa: N802
            fields, self.fields = self.fields or [], None
            for _, prepend in sorted(fields, key=lambda field: -field[0]):
                prepend()
            return super().EndObject()

        def _field(self, width: int, prepend: Any) -> None:
            if self.fields is None:
                prepend()
            else:
                self.fields.append((width, prepend))

        def CreateNumpyVector(self, x: np.ndarray) -> int:  # noqa: N802 (flatbuffers' names)
            return self._once((x.dtype.str, x.tobytes()), lambda: super(SharingBuilder, self).CreateNumpyVector(x))

        def CreateString(self, s: str | bytes, encoding: str = "utf-8", errors: str = "strict") -> int:  # noqa: N802
            return self._once(("string", s if isinstance(s, bytes) else s.encode(encoding, errors)),
                              lambda: super(SharingBuilder, self).CreateString(s, encoding, errors))

        def _once(self, key: tuple, make: Any) -> int:
            if key not in self.shared:
                self.shared[key] = make()
            return self.shared[key]

    return SharingBuilder()


def tensor_types() -> Any:
    from tensorflow.lite.python import schema_py_generated as schema

    return schema.TensorType


def opcode_names(model: Any) -> list[str]:
    """``BUILTIN_NAME`` of each operator code of ``model`` (custom ops by their custom code)."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        out.append(code.customCode.decode() if code.customCode else names.get(builtin, str(builtin)))
    return out


def kernel_uses(model: Any) -> Iterator[tuple[Any, Any, str, int]]:
    """(subgraph, operator, opcode name, weight tensor index) of every op reading a constant kernel
    in input slot 1 (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ...), in execution order."""
    names = opcode_names(model)
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            inputs = list(op.inputs) if op.inputs is not None else []
            if len(inputs) >= 2 and inputs[1] >= 0:
                yield subgraph, op, names[op.opcodeIndex], int(inputs[1])


def buffer_array(model: Any, tensor: Any, dtype: Any) -> np.ndarray | None:
    """The constant data of ``tensor`` as ``dtype`` in its shape, or None for a non-constant."""
    data = model.buffers[tensor.buffer].data
    if data is None or len(data) == 0:
        return None
    return np.frombuffer(np.asarray(data, dtype=np.uint8).tobytes(), dtype=dtype).reshape(tuple(tensor.shape))


def set_buffer(model: Any, tensor: Any, raw: bytes) -> None:
    model.buffers[tensor.buffer].data = np.frombuffer(raw, dtype=np.uint8).copy()
