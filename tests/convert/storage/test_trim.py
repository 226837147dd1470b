"""Trimmed int4 files: only what the runtimes read is dropped, and they compute exactly what the untrimmed file does."""

from __future__ import annotations

import numpy as np

from edgekit.convert.runners import run_model
from edgekit.convert.storage import tflite_edit, trim
from edgekit.convert.storage.int4 import rewrite_kernels, to_int4
from edgekit.evaluate import evaluate_model
from edgekit.inspect import read_tflite


def _untrimmed(int8: bytes) -> bytes:
    model = tflite_edit.read_model(int8)
    rewrite_kernels(model, "grid")
    return tflite_edit.write_model(model)


def test_trimmed_int4_computes_what_the_untrimmed_file_does(storage_models, digits_val, tmp_path):
    int8 = storage_models["grid_int8"].read_bytes()
    trimmed, untrimmed = to_int4(int8, "grid")[0], _untrimmed(int8)
    model, before = read_tflite(trimmed), read_tflite(untrimmed)
    graph = model.main
    assert [op.opcode for op in graph.operators] == \
        [op.opcode for op in before.main.operators if op.opcode not in ("SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE")]
    assert len(graph.tensors) < len(before.main.tensors)
    assert set(model.metadata) == set() and "min_runtime_version" in before.metadata
    signature = model.signatures[0]
    assert signature.key == "serving_default" and list(signature.inputs) == ["image"]
    assert [graph.tensors[i].name for i in graph.inputs] == ["image"]
    assert [graph.tensors[i].name for i in graph.outputs] == list(signature.outputs)
    internal = set(range(len(graph.tensors))) - set(graph.inputs) - set(graph.outputs)
    assert all(graph.tensors[i].name == f"#{i}" for i in internal)
    assert graph.tensors[graph.inputs[0]].shape_signature[0] == -1   # the dynamic batch is still declared
    assert all(t.hasRank for t in tflite_edit.read_model(trimmed).subgraphs[0].tensors)
    assert len(trimmed) < len(untrimmed) - 1000
    x = np.load(digits_val)["x"][:64].astype(np.float32)
    for runtime in ("litert", "tflm"):
        assert np.array_equal(run_model(runtime, trimmed, [x], "trimmed")[0], run_model(runtime, untrimmed, [x], "untrimmed")[0])
    paths = []
    for name, blob in (("trimmed", trimmed), ("untrimmed", untrimmed)):
        paths.append(tmp_path / f"{name}.tflite")
        paths[-1].write_bytes(blob)
    # evaluate resizes the dynamic batch: the trimmed graph must still run batches of many samples
    accuracies = [evaluate_model(path, digits_val).accuracy for path in paths]
    assert accuracies[0] == accuracies[1] > 0.5   # both well above chance (0.1)


def test_flatten_stays_where_the_fully_connected_keeps_its_dims(storage_models):
    model = tflite_edit.read_model(storage_models["grid_int8"].read_bytes())
    names = tflite_edit.opcode_names(model)
    for op in model.subgraphs[0].operators:
        if names[op.opcodeIndex] == "FULLY_CONNECTED":
            op.builtinOptions.keepNumDims = True
    trim.trim(model)
    kept = {tflite_edit.opcode_names(model)[op.opcodeIndex] for op in model.subgraphs[0].operators}
    assert "RESHAPE" in kept


def test_writer_shares_identical_vectors_and_tables(storage_models):
    model = tflite_edit.read_model(storage_models["grid_int8"].read_bytes())
    tensors = model.subgraphs[0].tensors
    written = read_tflite(tflite_edit.write_model(model)).main.tensors
    for tensor, back in zip(tensors, written):
        assert back.shape == tuple(tensor.shape)
        if tensor.quantization is not None and tensor.quantization.scale is not None:
            assert np.array_equal(back.quantization.scales, tensor.quantization.scale)
            assert np.array_equal(back.quantization.zero_points, tensor.quantization.zeroPoint)


def test_largest_first_layout_holds_the_same_model_in_fewer_bytes(storage_models):
    from tensorflow.lite.tools import flatbuffer_utils

    model = tflite_edit.read_model(storage_models["grid_int8"].read_bytes())
    trim.trim(model)
    schema_order, largest_first = (tflite_edit.write_model(model, largest_first=flag) for flag in (False, True))
    assert len(largest_first) < len(schema_order)
    # the same content: both read back to objects TensorFlow's own writer turns into identical bytes
    same = [flatbuffer_utils.convert_object_to_bytearray(tflite_edit.read_model(blob))
            for blob in (schema_order, largest_first)]
    assert same[0] == same[1]


def test_float_tensors_lose_only_empty_quantization_tables(storage_models):
    model = tflite_edit.read_model(storage_models["grid_int8"].read_bytes())
    graph = model.subgraphs[0]
    empty = [i for i, t in enumerate(graph.tensors) if t.quantization is not None and t.quantization.scale is None]
    assert empty   # the converter writes one for each float tensor
    quantized = {i: t.quantization.scale.copy() for i, t in enumerate(graph.tensors)
                 if t.quantization is not None and t.quantization.scale is not None}
    trim.drop_empty_quantization(model)
    assert all(graph.tensors[i].quantization is None for i in empty)
    assert all(np.array_equal(graph.tensors[i].quantization.scale, s) for i, s in quantized.items())
