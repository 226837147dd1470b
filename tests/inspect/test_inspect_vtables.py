"""A table whose vtable is empty (size 0) is legal FlatBuffers: what the runtime loads, inspect reads."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from edgekit.errors import ModelFormatError
from edgekit.inspect import read_tflite
from edgekit.inspect import schema as S
from edgekit.inspect.flatbuffer import Buffer


def with_empty_vtables(data: bytes, size: int = 0) -> tuple[bytes, int]:
    """``data`` with the vtable of its empty buffer tables (size 4: no fields) rewritten to ``size``.

    Every table that shares that vtable has no fields either way, so the model means the same;
    returns the new bytes and how many tables use the rewritten vtable.
    """
    buffers = Buffer(data).root(b"TFL3").tables(S.Model.BUFFERS)
    vtable_of = {t.pos: t.pos - struct.unpack_from("<i", data, t.pos)[0] for t in buffers}
    fields = (S.Buffer.DATA, S.Buffer.OFFSET, S.Buffer.SIZE)
    empty = {vtable_of[t.pos] for t in buffers if not any(t.has(f) for f in fields)}
    assert empty, "the model has no empty buffer table"
    out = bytearray(data)
    for vtable in empty:
        assert struct.unpack_from("<H", data, vtable)[0] == 4  # just the two sizes: no field
        struct.pack_into("<H", out, vtable, size)
    users = sum(1 for vtable in vtable_of.values() if vtable in empty)
    return bytes(out), users


def outputs(content: bytes) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=content)
    interp.allocate_tensors()
    for detail in interp.get_input_details():
        interp.set_tensor(detail["index"], np.full(detail["shape"], 3, detail["dtype"]))
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def test_an_empty_vtable_loads_in_litert_and_inspects_the_same(zoo, tmp_path, cli):
    original = zoo("int8_digits").read_bytes()
    patched, users = with_empty_vtables(original)
    assert patched != original and users >= 1
    for got, want in zip(outputs(patched), outputs(original)):  # the runtime loads and runs it unchanged
        np.testing.assert_array_equal(got, want)
    before, after = read_tflite(original), read_tflite(patched)
    assert [(t.name, t.shape, t.dtype, t.nbytes) for t in after.main.tensors] == \
        [(t.name, t.shape, t.dtype, t.nbytes) for t in before.main.tensors]
    (tmp_path / "empty_vtable.tflite").write_bytes(patched)
    result = cli("inspect", tmp_path / "empty_vtable.tflite")
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr


def test_an_odd_vtable_size_is_refused_by_both(zoo):
    odd, _ = with_empty_vtables(zoo("int8_digits").read_bytes(), size=1)
    with pytest.raises(ModelFormatError, match="bad vtable size 1"):
        read_tflite(odd)
    with pytest.raises(ValueError):
        outputs(odd)
