"""A small, bounds-checked reader of the FlatBuffers wire format (read-only, schema-less).

Only what a TFLite file needs: tables with vtables, scalars, strings, vectors of scalars
and vectors of tables. Every offset is checked against the buffer, so a corrupt or
hostile file raises :class:`FlatbufferError` instead of ``IndexError``/``struct.error``
or an endless loop. Field ids are the schema's declaration order (0, 1, 2, ...).

Wire format, in short: a table starts with an ``int32`` pointing (backwards) to its
vtable; the vtable holds ``uint16`` vtable size, table size, then one ``uint16`` offset
per field (0 = absent, the default applies). A field past the vtable's end is absent too,
so a vtable of size 0 or 2 (no table size, no fields) is legal: FlatBuffers' verifier, and
so every TFLite runtime, only asks for an even size inside the buffer. Reference fields hold a ``uint32`` offset
relative to the field's own position; vectors and strings are a ``uint32`` length then
the elements. All little-endian.
"""

from __future__ import annotations

import struct

import numpy as np

_SCALARS = {
    "bool": "<?", "int8": "<b", "uint8": "<B", "int16": "<h", "uint16": "<H",
    "int32": "<i", "uint32": "<I", "int64": "<q", "uint64": "<Q", "float32": "<f", "float64": "<d",
}


class FlatbufferError(ValueError):
    """The bytes are not a well-formed flatbuffer (an offset or length points outside it)."""


class Buffer:
    """The bytes of a flatbuffer with checked little-endian reads."""

    def __init__(self, data: bytes | bytearray | memoryview):
        self.view = memoryview(data).cast("B")
        self.size = len(self.view)

    def check(self, pos: int, length: int, what: str) -> None:
        if pos < 0 or length < 0 or pos + length > self.size:
            raise FlatbufferError(f"{what} at byte {pos} (+{length}) is outside the {self.size}-byte file")

    def scalar(self, kind: str, pos: int) -> int | float | bool:
        fmt = _SCALARS[kind]
        self.check(pos, struct.calcsize(fmt), kind)
        return struct.unpack_from(fmt, self.view, pos)[0]

    def uoffset(self, pos: int) -> int:
        """Follow the ``uint32`` offset stored at ``pos`` (relative to ``pos``)."""
        return pos + self.scalar("uint32", pos)

    def root(self, identifier: bytes | None = None) -> "Table":
        """The root table; with ``identifier``, check the 4-byte file identifier first."""
        if self.size < 8:
            raise FlatbufferError(f"only {self.size} bytes, too short for a flatbuffer")
        if identifier is not None and bytes(self.view[4:8]) != identifier:
            found = bytes(self.view[4:8])
            raise FlatbufferError(f"file identifier is {found.decode('latin-1')!r}, expected {identifier.decode()!r}")
        return Table(self, self.uoffset(0))


class Table:
    """One flatbuffer table; read fields by their schema id."""

    __slots__ = ("buf", "pos", "_vtable", "_vtable_size")

    def __init__(self, buf: Buffer, pos: int):
        self.buf = buf
        self.pos = pos
        self._vtable = pos - buf.scalar("int32", pos)
        self._vtable_size = buf.scalar("uint16", self._vtable)
        if self._vtable_size % 2:
            raise FlatbufferError(f"table at byte {pos} has a bad vtable size {self._vtable_size}")
        buf.check(self._vtable, self._vtable_size, "vtable")

    def _field(self, field_id: int) -> int:
        """Absolute position of field ``field_id``, or 0 if the field is absent."""
        entry = 4 + 2 * field_id
        if entry >= self._vtable_size:
            return 0
        offset = self.buf.scalar("uint16", self._vtable + entry)
        return self.pos + offset if offset else 0

    def has(self, field_id: int) -> bool:
        return self._field(field_id) != 0

    def scalar(self, field_id: int, kind: str, default: int | float | bool = 0):
        pos = self._field(field_id)
        return self.buf.scalar(kind, pos) if pos else default

    def table(self, field_id: int) -> "Table | None":
        pos = self._field(field_id)
        return Table(self.buf, self.buf.uoffset(pos)) if pos else None

    def string(self, field_id: int) -> str | None:
        raw = self.bytes(field_id)
        return None if raw is None else raw.decode("utf-8", errors="replace")

    def bytes(self, field_id: int) -> bytes | None:
        """A ``[ubyte]`` vector or string as ``bytes`` (a copy)."""
        view = self.bytes_view(field_id)
        return None if view is None else bytes(view)

    def bytes_view(self, field_id: int) -> memoryview | None:
        """A ``[ubyte]`` vector or string as a zero-copy view of the file."""
        start, length = self._vector(field_id, 1)
        return None if start is None else self.buf.view[start : start + length]

    def array(self, field_id: int, kind: str) -> np.ndarray | None:
        """A vector of scalars as a read-only little-endian numpy array (zero-copy)."""
        itemsize = struct.calcsize(_SCALARS[kind])
        start, length = self._vector(field_id, itemsize)
        if start is None:
            return None
        dtype = np.dtype(kind).newbyteorder("<")
        return np.frombuffer(self.buf.view, dtype=dtype, count=length, offset=start)

    def tables(self, field_id: int) -> list["Table"]:
        """A vector of tables (each element is an offset relative to itself)."""
        start, length = self._vector(field_id, 4)
        if start is None:
            return []
        return [Table(self.buf, self.buf.uoffset(start + 4 * i)) for i in range(length)]

    def _vector(self, field_id: int, itemsize: int) -> tuple[int | None, int]:
        pos = self._field(field_id)
        if not pos:
            return None, 0
        vector = self.buf.uoffset(pos)
        length = self.buf.scalar("uint32", vector)
        self.buf.check(vector + 4, length * itemsize, f"vector of {length} elements")
        return vector + 4, length
