"""read_tflite against the LiteRT interpreter, on every zoo model, and on broken files."""

from __future__ import annotations

import random

import numpy as np
import pytest

from helpers import tflite_zoo
from edgekit.errors import InputFileError, ModelFormatError
from edgekit.inspect import read_tflite
from edgekit.inspect import schema as S
from edgekit.inspect.flatbuffer import Buffer
from edgekit.inspect.model import DimensionMetadata, Sparsity
from edgekit.inspect.sparse import SparsityError, densify

CONVERTED = ["float_digits", "int8_digits", "int8_depthwise", "float16_weights", "sparse_encoded", "sparse_int8", "custom_op",
             "buffer_offset", "multi_io"]
RUNNABLE = [name for name in CONVERTED if name != "custom_op"]
# The interpreter reports sub-byte types by their unpacked numpy dtype.
INTERPRETER_DTYPE = {"int4": "int8", "uint4": "uint8", "int2": "int8"}


def interpreter(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without default delegates: XNNPACK refuses sparse int8 FULLY_CONNECTED weights.
    return Interpreter(model_path=str(path), experimental_preserve_all_tensors=True,
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def run_once(path):
    """An interpreter that has run one inference on zeros (every tensor kept)."""
    interp = interpreter(path)
    interp.allocate_tensors()
    for detail in interp.get_input_details():
        interp.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interp.invoke()
    return interp


@pytest.mark.parametrize("name", CONVERTED)
def test_tensors_and_operators_match_interpreter(zoo, name):
    model = read_tflite(zoo(name))
    graph = model.main
    interp = interpreter(zoo(name))
    details = interp.get_tensor_details()
    assert len(graph.tensors) == len(details)
    for detail in details:
        tensor = graph.tensors[detail["index"]]
        assert tensor.name == detail["name"]
        assert list(tensor.shape) == detail["shape"].tolist()
        assert list(tensor.shape_signature) == detail["shape_signature"].tolist()
        assert INTERPRETER_DTYPE.get(tensor.dtype, tensor.dtype) == np.dtype(detail["dtype"]).name
        quant = detail["quantization_parameters"]
        if tensor.quantization is None:
            assert len(quant["scales"]) == 0
        else:
            np.testing.assert_array_equal(tensor.quantization.scales, quant["scales"])
            np.testing.assert_array_equal(tensor.quantization.zero_points, quant["zero_points"])
            assert tensor.quantization.quantized_dimension == quant["quantized_dimension"]
    ops = interp._get_ops_details()
    assert [(op.opcode, list(op.inputs), list(op.outputs)) for op in graph.operators] == [
        (op["op_name"], op["inputs"].tolist(), op["outputs"].tolist()) for op in ops
    ]
    assert list(graph.inputs) == [d["index"] for d in interp.get_input_details()]
    assert list(graph.outputs) == [d["index"] for d in interp.get_output_details()]


@pytest.mark.parametrize("name", RUNNABLE)
def test_constant_data_matches_interpreter(zoo, name):
    model = read_tflite(zoo(name))
    interp = run_once(zoo(name))
    checked = 0
    for tensor in model.main.tensors:
        if tensor.data is not None and tensor.sparsity is None:
            np.testing.assert_array_equal(tensor.data, interp.get_tensor(tensor.index), err_msg=tensor.name)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("name", ["sparse_encoded", "sparse_int8"])
def test_sparsity_parameters_match_interpreter(zoo, name):
    model = read_tflite(zoo(name))
    interp = interpreter(zoo(name))
    sparse = [t for t in model.main.tensors if t.sparsity is not None]
    assert len(sparse) == 4
    for tensor in sparse:
        expected = interp._get_tensor_details(tensor.index, 0)["sparsity_parameters"]
        assert list(tensor.sparsity.traversal_order) == expected["traversal_order"].tolist()
        assert list(tensor.sparsity.block_map) == expected["block_map"].tolist()
        for mine, theirs in zip(tensor.sparsity.dim_metadata, expected["dim_metadata"], strict=True):
            assert mine.format == ("DENSE", "SPARSE_CSR")[theirs["format"]]
            if mine.format == "DENSE":
                assert mine.dense_size == theirs["dense_size"]
            else:
                np.testing.assert_array_equal(mine.array_segments, theirs["array_segments"])
                np.testing.assert_array_equal(mine.array_indices, theirs["array_indices"])


@pytest.mark.parametrize("name", ["sparse_encoded", "sparse_int8"])
def test_densified_weights_equal_the_densify_op_output(zoo, name):
    model = read_tflite(zoo(name))
    interp = run_once(zoo(name))
    densify_ops = [op for op in model.main.operators if op.opcode == "DENSIFY"]
    assert densify_ops
    for op in densify_ops:
        source = model.main.tensors[op.inputs[0]]
        np.testing.assert_array_equal(source.data, interp.get_tensor(op.outputs[0]), err_msg=source.name)
        assert source.nbytes < source.data.nbytes  # stored encoded, smaller than dense


def test_block_sparse_fully_connected_computes_with_the_densified_weights(zoo):
    """fc1 of sparse_encoded has 1x4 blocks and no DENSIFY: FULLY_CONNECTED reads it sparse."""
    path = zoo("sparse_encoded")
    graph = read_tflite(path).main
    blocked = [t for t in graph.tensors if t.sparsity is not None and t.sparsity.block_map]
    assert len(blocked) == 1 and blocked[0].sparsity.block_shape() == (4,)
    weights = blocked[0]
    fc = next(op for op in graph.operators if op.opcode == "FULLY_CONNECTED" and op.inputs[1] == weights.index)
    interp = interpreter(path)
    interp.allocate_tensors()
    image = np.random.default_rng(0).random((1, 8, 8, 1), dtype=np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], image)
    interp.invoke()
    x = interp.get_tensor(fc.inputs[0])
    bias = graph.tensors[fc.inputs[2]].data
    expected = np.maximum(x.reshape(1, -1) @ weights.data.T + bias, 0)  # fc1 has a fused relu
    np.testing.assert_allclose(interp.get_tensor(fc.outputs[0]), expected, rtol=1e-5, atol=1e-5)


def test_per_channel_quantization(zoo):
    graph = read_tflite(zoo("int8_digits")).main
    conv = next(op for op in graph.operators if op.opcode == "CONV_2D")
    kernel = graph.tensors[conv.inputs[1]]
    assert kernel.dtype == "int8" and kernel.quantization.per_channel
    assert kernel.quantization.quantized_dimension == 0
    assert len(kernel.quantization.scales) == kernel.shape[0] == 8
    assert not kernel.quantization.zero_points.any()  # int8 weights are symmetric
    assert graph.tensors[conv.inputs[2]].dtype == "int32"
    assert graph.input_tensors()[0].dtype == "int8" and not graph.input_tensors()[0].quantization.per_channel


def test_float16_weights(zoo):
    graph = read_tflite(zoo("float16_weights")).main
    halves = [t for t in graph.tensors if t.dtype == "float16"]
    assert len(halves) == 8 and all(t.data is not None and t.data.dtype == np.float16 for t in halves)
    dequantized = {op.inputs[0] for op in graph.operators if op.opcode == "DEQUANTIZE"}
    assert dequantized == {t.index for t in halves}


def test_custom_op(zoo):
    model = read_tflite(zoo("custom_op"))
    custom = [op for op in model.operators if op.is_custom]
    assert model.custom_ops == ["BesselI1e"]
    assert len(custom) == 1 and custom[0].custom_code == "BesselI1e" and custom[0].builtin_code == S.CUSTOM_OPCODE


def test_several_inputs_and_outputs(zoo):
    model = read_tflite(zoo("multi_io"))
    shapes = sorted(t.shape for t in model.main.input_tensors())
    assert shapes == [(1, 5), (1, 8, 8, 1)]
    assert sorted(t.shape for t in model.main.output_tensors()) == [(1, 1), (1, 10)]
    (signature,) = model.signatures
    assert signature.key == "serving_default" and set(signature.inputs) == {"image", "features"}
    assert set(signature.inputs.values()) == set(model.main.inputs)


def test_buffers_stored_after_the_flatbuffer(zoo):
    path = zoo("buffer_offset")
    root = Buffer(path.read_bytes()).root(S.FILE_IDENTIFIER)
    placed = [b for b in root.tables(S.Model.BUFFERS) if b.scalar(S.Buffer.OFFSET, "uint64") > 1]
    assert len(placed) >= 8 and all(not b.has(S.Buffer.DATA) for b in placed)
    model = read_tflite(path)
    assert sum(t.data is not None for t in model.main.tensors) >= 8  # and their data match: see above


def test_handmade_model_decodes_exactly(zoo):
    model = read_tflite(zoo("handmade"))
    tensors = {t.name: t for t in model.main.tensors}
    np.testing.assert_array_equal(tensors["int4_weights"].data, tflite_zoo.HANDMADE_INT4)
    assert tensors["int4_weights"].dtype == "int4" and tensors["int4_weights"].nbytes == 4
    assert tensors["int4_weights"].quantization.scales.tolist() == [0.5, 0.25]
    np.testing.assert_array_equal(tensors["uint8_weights"].data, tflite_zoo.HANDMADE_UINT8)
    np.testing.assert_array_equal(tensors["int16_weights"].data, tflite_zoo.HANDMADE_INT16)
    np.testing.assert_array_equal(tensors["bf16_weights"].data, tflite_zoo.HANDMADE_BF16)
    np.testing.assert_array_equal(tensors["block_sparse"].data, tflite_zoo.HANDMADE_BLOCK_SPARSE)
    assert tensors["block_sparse"].sparsity.to_dict()["block_shape"] == [4]
    (custom,) = model.main.operators
    assert custom.opcode == tflite_zoo.HANDMADE_CUSTOM_CODE and custom.custom_options == b"opaque"
    second = model.subgraphs[1]
    assert second.name == "second" and second.operators[0].builtin_code == 150
    assert second.operators[0].opcode == S.BUILTIN_OPERATORS[150]
    assert [(s.key, s.subgraph_index) for s in model.signatures] == [("mystery", 0), ("second", 1)]
    assert model.description == "hand-built by tests/helpers/tflite_zoo.py"
    assert model.min_runtime_version() == "2.3.0"
    external = tensors["external_weights"]
    assert external.data is None and external.nbytes == 16 and "handmade_weights.bin" in external.note


def test_reads_bytes_as_well_as_paths(zoo):
    path = zoo("int8_digits")
    from_bytes = read_tflite(path.read_bytes())
    assert from_bytes.path is None and from_bytes.size_bytes == path.stat().st_size
    assert [t.name for t in from_bytes.main.tensors] == [t.name for t in read_tflite(path).main.tensors]


# ---- bad input ------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="missing.tflite: no such file"):
        read_tflite(tmp_path / "missing.tflite")


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        read_tflite(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelFormatError, match="empty.tflite: empty file"):
        read_tflite(tmp_path / "empty.tflite")


@pytest.mark.parametrize("content", [b"not a model at all, just text\n" * 10, bytes(range(256)) * 4, b"TFL3"])
def test_not_a_tflite_file(tmp_path, content):
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError, match=r"model\.tflite: not a TFLite model"):
        read_tflite(path)


def test_wrong_file_identifier(zoo, tmp_path):
    data = bytearray(zoo("float_digits").read_bytes())
    data[4:8] = b"XYZ3"
    (tmp_path / "other.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="identifier is 'XYZ3', expected 'TFL3'"):
        read_tflite(tmp_path / "other.tflite")


@pytest.mark.parametrize("keep", [8, 100, 0.5, 0.9])
def test_truncated_file(zoo, tmp_path, keep):
    data = zoo("int8_digits").read_bytes()
    cut = keep if isinstance(keep, int) else int(len(data) * keep)
    (tmp_path / "cut.tflite").write_bytes(data[:cut])
    with pytest.raises(ModelFormatError, match="cut.tflite: (corrupt TFLite file|not a TFLite model)"):
        read_tflite(tmp_path / "cut.tflite")


def test_corrupted_bytes_never_crash(zoo):
    """Random byte damage: either a readable model or ModelFormatError, never IndexError & co."""
    rng = random.Random(1)
    originals = [zoo(name).read_bytes() for name in ("int8_digits", "sparse_encoded", "handmade", "multi_io")]
    failures = 0
    for _ in range(400):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(min(len(data), 3000))  # the tables and vtables sit near the front
            data[at : at + 4] = rng.randbytes(4)
        try:
            read_tflite(bytes(data))
        except ModelFormatError as err:
            assert str(err).startswith("<bytes>: ")
            failures += 1
    assert failures > 20  # the damage did hit structure


def test_dense_sizes(zoo):
    model = read_tflite(zoo("handmade"))
    tensors = {t.name: t for t in model.main.tensors}
    assert tensors["int4_weights"].dense_nbytes == 4  # 8 elements, 4 bits each
    assert tensors["block_sparse"].dense_nbytes == 128 and tensors["block_sparse"].nbytes == 64
    assert tensors["bf16_weights"].dense_nbytes == 6


def csr(segments, indices) -> Sparsity:
    """A (2, 4) matrix: rows dense, columns CSR."""
    return Sparsity((0, 1), (), (DimensionMetadata("DENSE", 2),
                                 DimensionMetadata("SPARSE_CSR", array_segments=np.array(segments),
                                                   array_indices=np.array(indices))))


def test_densify_csr():
    dense = densify(np.array([1.0, 2.0, 3.0], np.float32), (2, 4), csr([0, 1, 3], [2, 0, 3]))
    np.testing.assert_array_equal(dense, [[0, 0, 1, 0], [2, 0, 0, 3]])


@pytest.mark.parametrize("segments, indices", [
    ([-2_000_000_000, 1, 2], [0, 1]),  # a negative segment start once asked for 11 GiB
    ([0, 2, 1], [0, 1]),                # decreasing segments
    ([0, 1, 5], [0, 1]),                # past the indices
    ([0, 1, 2], [0, 9]),                # column outside the dimension
    ([0, 1, 3], [0, 1, 2]),             # more positions than stored values
])
def test_densify_rejects_inconsistent_metadata(segments, indices):
    with pytest.raises(SparsityError):
        densify(np.array([1.0, 2.0], np.float32), (2, 4), csr(segments, indices))
