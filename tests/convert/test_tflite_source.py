"""``edgekit convert MODEL.tflite``: float .tflite files quantized by AI Edge Quantizer, checked against their source.

Real parts throughout: TensorFlow-converted files from the zoo, MediaPipe's own models from
the corpus wheel, AEQ 0.10, LiteRT running both files.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import tflite_corpus
from helpers.support import one_error_line

pytest.importorskip("ai_edge_quantizer")


@pytest.fixture(scope="module")
def corpus() -> dict:
    return tflite_corpus.fetch_or_skip()


def _outputs(path_or_bytes, inputs):
    from edgekit.convert.runners import run_model

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return run_model("litert", data, inputs, "test")


def _constant_dtypes(path) -> dict[str, str]:
    from edgekit.inspect import read_tflite

    return {t.name: t.dtype for t in read_tflite(path).main.tensors if t.is_constant and len(t.shape) >= 2}


def test_prepared_mediapipe_files_compute_what_the_source_does_and_aeq_then_quantizes_them(corpus):
    from edgekit.convert.tflite_source import calibration, check, engine, recipes, source
    from edgekit.errors import ConversionError

    raw = corpus["iris_landmark"].read_bytes()     # float32 weights, ops named only in deprecated_builtin_code
    recipe = recipes.build_recipe(recipes.get_mode("dynamic", None))
    with pytest.raises(ConversionError, match="quantized no tensor"):   # why edgekit prepares the source
        check.require_quantized(raw, engine.quantize(raw, recipe, None, "iris"), "iris", "the dynamic file")
    for name, changed in (("iris_landmark", ("operator code", "signature")),
                          ("pose_detection", ("float16/sparse", "signature"))):   # sparse fp16 + stale metadata
        raw = corpus[name].read_bytes()
        prepared = source.prepare(raw, name)
        for word in changed:
            assert any(word in change for change in prepared.changes), prepared.changes
        inputs = calibration.generated_inputs(calibration.signature_inputs(prepared.flatbuffer, prepared.signature),
                                              2, name)
        for a, b in zip(_outputs(raw, inputs), _outputs(prepared.flatbuffer, inputs)):
            np.testing.assert_array_equal(a, b)
        quantized = engine.quantize(prepared.flatbuffer, recipe, None, name)
        assert check.require_quantized(prepared.flatbuffer, quantized, name, "the dynamic file") > 10


@pytest.mark.parametrize("args, mode, kinds", [
    (("--quantize", "dynamic"), "dynamic", {"int8"}),
    (("--quantize", "float16"), "float16", {"float16"}),
    (("--weights", "int8"), "weights-int8", {"int8"}),
    (("--weights", "int4"), "weights-int4", {"int4"}),
    (("--quantize", "int8", "--calibration", "DIGITS"), "int8", {"int8"}),
    (("--quantize", "int16x8", "--calibration", "DIGITS"), "int16x8", {"int8"}),
])
def test_each_mode_writes_a_smaller_file_that_follows_the_source(cli, zoo, digits_val, tmp_path, args, mode, kinds):
    source, out = zoo("float_digits"), tmp_path / "q.tflite"
    args = [str(digits_val) if a == "DIGITS" else a for a in args]
    result = cli("convert", source, "-o", out, *args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == mode and report["size_bytes"] == out.stat().st_size < source.stat().st_size
    assert set(report["io_types"]) == ({"int8"} if mode == "int8" else {"int16"} if mode == "int16x8" else {"float32"})
    assert set(_constant_dtypes(out).values()) == kinds
    check = report["verification"]
    assert check["ok"] and check["reference"] == "float" and check["runtime"] == "litert"
    assert check["median_steps"] <= check["max_steps"]
    if "--calibration" in args:   # labelled data: a classifier, so top-1 agreement and accuracy of both
        assert report["calibration"].startswith(str(digits_val)) and check["top1"] >= 0.9
        assert abs(check["accuracy"]["quantized"] - check["accuracy"]["source"]) <= 0.1
    else:
        assert check["inputs"].startswith("generated: 64 samples uniform in [-1, 1]") and check["top1"] is None


def test_output_lines_say_size_mode_agreement_and_what_was_prepared(cli, corpus, tmp_path):
    result = cli("convert", corpus["hand_recrop"], "-o", tmp_path / "q.tflite", "--quantize", "dynamic")
    assert result.exit_code == 0, result.output
    wrote, verified, prepared = result.stdout.splitlines()
    size = (tmp_path / "q.tflite").stat().st_size
    assert wrote.startswith(f"wrote {tmp_path / 'q.tflite'}: {size:,} bytes (")
    assert "dynamic: int8 weights" in wrote and ", I/O float32; " in wrote
    assert verified.startswith("  verified on LiteRT against the float source: max ") and "generated" in verified
    assert prepared.startswith("  prepared for AI Edge Quantizer: 6 operator code(s) named in builtin_code")


def test_multi_input_calibration_is_matched_by_signature_input_name(cli, zoo, tmp_path):
    rng = np.random.default_rng(1)
    spec = tmp_path / "cal.npz"   # the signature's names; the file's own input order is features, image
    np.savez(spec, image=rng.uniform(0, 1, (40, 8, 8, 1)).astype(np.float32),
             features=rng.normal(size=(40, 5)).astype(np.float32))
    result = cli("convert", zoo("multi_io"), "-o", tmp_path / "q.tflite", "--quantize", "int8", "--calibration", spec,
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verification"]["samples"] == 40
    swapped = tmp_path / "swapped.npz"
    np.savez(swapped, image=rng.normal(size=(40, 5)).astype(np.float32),
             features=rng.uniform(0, 1, (40, 8, 8, 1)).astype(np.float32))
    refused = cli("convert", zoo("multi_io"), "-o", tmp_path / "r.tflite", "--quantize", "int8", "--calibration",
                  swapped)
    assert refused.exit_code == 2 and not (tmp_path / "r.tflite").exists(), refused.output


def test_keep_float_and_per_tensor_reach_the_recipe(cli, zoo, digits_val, tmp_path):
    from edgekit.inspect import read_tflite

    out = tmp_path / "kept.tflite"
    assert cli("convert", zoo("float_digits"), "-o", out, "--quantize", "dynamic", "--keep-float", "CONV_2D").exit_code == 0
    main = read_tflite(out).main
    kinds = {op.opcode: main.tensors[op.inputs[1]].dtype for op in main.operators
             if op.opcode in ("CONV_2D", "FULLY_CONNECTED")}
    assert kinds == {"CONV_2D": "float32", "FULLY_CONNECTED": "int8"}
    out = tmp_path / "per_tensor.tflite"
    result = cli("convert", zoo("float_digits"), "-o", out, "--quantize", "int8", "--calibration", digits_val,
                 "--per-tensor")
    assert result.exit_code == 0, result.output
    scales = [len(t.quantization.scales) for t in read_tflite(out).main.tensors
              if t.is_constant and t.dtype == "int8" and len(t.shape) >= 2]
    assert scales and set(scales) == {1}


def test_the_same_command_writes_the_same_bytes(cli, zoo, digits_val, tmp_path):
    files = [tmp_path / f"{i}.tflite" for i in range(2)]
    for out in files:
        assert cli("convert", zoo("float_digits"), "-o", out, "--quantize", "int8", "--calibration", digits_val,
                   "--weights", "int4").exit_code == 0
    assert files[0].read_bytes() == files[1].read_bytes()


@pytest.mark.parametrize("model, args, code, message", [
    ("int8_digits", ("--quantize", "dynamic"), 2, "already quantized (tensor "),
    ("custom_op", ("--quantize", "dynamic"), 2, "LiteRT cannot load it (Encountered unresolved custom op: BesselI1e"),
    ("float_digits", ("--quantize", "int8"), 2, "int8 quantization needs representative inputs: add --calibration"),
    ("float_digits", (), 2, "a .tflite source is already float: give --quantize"),
    ("float_digits", ("--quantize", "int16x8", "--weights", "int4"), 2, "not offered for a .tflite source"),
    ("float_digits", ("--quantize", "dynamic", "--keep-float", "conv"), 2, "--keep-float conv: neither a TFLite op"),
    ("float_digits", ("--quantize", "int8", "--io-type", "int8"), 2, "--io-type int8: for a .tflite source the mode sets"),
    ("float_digits", ("--quantize", "dynamic", "--auto-mixed", "1"), 2, "--auto-mixed needs labelled data"),
    ("float_digits", ("--quantize", "int8", "--storage", "sparse"), 2, "--storage sparse is written by TensorFlow's"),
    ("float_digits", ("--quantize", "dynamic", "--storage", "int4"), 2, "it needs --quantize int8 with int8 weights"),
    ("float_digits", ("--quantize", "dynamic", "--no-verify"), 2, "--no-verify applies to Keras sources"),
    ("float_digits", ("--quantize", "dynamic", "--recipe", "RECIPE"), 2, "--recipe says how to quantize everything"),
    ("float_digits", ("--recipe", "BAD"), 2, "not an AI Edge Quantizer recipe"),
    # AEQ skips int2 weights without a word and returns the float model
    ("float_digits", ("--recipe", "INT2"), 1, "the recipe int2.json file quantized no tensor"),
    # blockwise int2 it does write, and LiteRT cannot run it
    ("float_digits", ("--recipe", "INT2_B32"), 5, "LiteRT cannot load the file: unsupported tensor type"),
])
def test_refusals_are_one_line_and_write_nothing(cli, zoo, tmp_path, model, args, code, message):
    recipes = {"RECIPE": [], "BAD": {"not": "a list"}, "INT2": _int2_recipe("CHANNELWISE"),
               "INT2_B32": _int2_recipe("BLOCKWISE_32")}
    files = {}
    for key, recipe in recipes.items():
        files[key] = tmp_path / ("int2.json" if key == "INT2" else f"{key.lower()}.json")
        files[key].write_text(json.dumps(recipe))
    out = tmp_path / "out.tflite"
    result = cli("convert", zoo(model), "-o", out, *[str(files.get(a, a)) for a in args])
    assert result.exit_code == code, result.output
    assert message in one_error_line(result)
    assert not out.exists()


def _int2_recipe(granularity: str) -> list[dict]:
    return [{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize",
             "op_config": {"weight_tensor_config": {"num_bits": 2, "symmetric": True, "granularity": granularity,
                                                    "dtype": "INT"},
                           "compute_precision": "INTEGER", "explicit_dequantize": False}}]


def test_a_keras_source_refuses_the_tflite_only_options(cli, digits_model, tmp_path):
    result = cli("convert", digits_model, "-o", tmp_path / "m.tflite", "--weights", "int4")
    assert result.exit_code == 2 and "--weights applies to .tflite sources" in one_error_line(result)


def test_a_target_that_cannot_run_the_form_is_refused_before_writing(zoo, digits_val, tmp_path):
    from edgekit.convert.tflite_source.file import TfliteOptions, quantize_tflite_file
    from edgekit.errors import StorageError, UsageError
    from edgekit.targets import load_target

    out = tmp_path / "q.tflite"
    # per-channel int4 FULLY_CONNECTED: tflite-runtime 2.14 fails to prepare it, so rpi4 does not list the form
    with pytest.raises(StorageError, match="int4-fc-per-channel, which target rpi4 does not run"):
        quantize_tflite_file(zoo("float_digits"), out, TfliteOptions("int8", "int4"), calibration=digits_val,
                             target=load_target("rpi4"))
    # measured on tflite-runtime 2.14: weight-only int4 fails to prepare (its DEQUANTIZE has no int4 kernel), the
    # dynamic per-channel FULLY_CONNECTED AEQ writes computes wrong; LiteRT runs both right
    with pytest.raises(StorageError, match="stored as int4-dequantize, which target rpi4 does not run"):
        quantize_tflite_file(zoo("float_digits"), out, TfliteOptions(weights="int4"), target=load_target("rpi4"))
    with pytest.raises(StorageError, match="stored as int8-fc-per-channel-hybrid, which target rpi4 does not run"):
        quantize_tflite_file(zoo("float_digits"), out, TfliteOptions("dynamic"), target=load_target("rpi4"))
    with pytest.raises(UsageError, match="target coral-usb accepts int8 models, not dynamic"):
        quantize_tflite_file(zoo("float_digits"), out, TfliteOptions("dynamic"), target=load_target("coral-usb"))
    assert not out.exists()
    done = quantize_tflite_file(zoo("float_digits"), out, TfliteOptions("int8", "int4", per_tensor=True),
                                calibration=digits_val, target=load_target("rpi4"))
    assert done.target == "rpi4" and out.stat().st_size == done.size_bytes
