"""`edgekit build` of a float .tflite source: AI Edge Quantizer converts it, the Keras build's stages measure it.

Real parts: the zoo's float digits CNN (TensorFlow's converter, as a third party hands it
over), AEQ 0.10, LiteRT, TFLite Micro's arena, the agent's benchmark, real `edgekit build`
processes for the exit codes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from helpers import tflite_zoo
from helpers.build_support import build
from edgekit.errors import ConfigError
from edgekit.pipeline.budgets import BUDGETS
from edgekit.pipeline.config import load_config
from edgekit.pipeline.manifest import without_timing
from helpers.support import ROOT

pytest.importorskip("ai_edge_quantizer")

CONFIG = """\
[model]
source = "float_digits.tflite"

[data]
val = "{data}/digits_val.npz"
calibration = "{data}/digits_train.npz"

[convert]
quantize = "int8"

[budgets]
max_size_kb = {max_size_kb}
min_accuracy = 0.8
max_accuracy_drop = 0.05
"""


QUANTIZE = 'quantize = "int8"'


def project(directory: Path, source: Path, text: str = CONFIG, **settings) -> Path:
    """``directory``/edgekit.toml building a copy of ``source``; the size budget half the float file's."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, directory / "float_digits.tflite")
    values = {"data": ROOT / "calibration", "max_size_kb": round(source.stat().st_size / 1024 / 2, 1), **settings}
    path = directory / "edgekit.toml"
    path.write_text(text.format(**values))
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The float digits CNN as TensorFlow's converter writes it."""
    return tflite_zoo.build("float_digits", tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="module")
def first_build(tmp_path_factory, source):
    config = project(tmp_path_factory.mktemp("tflite_build"), source)
    out = config.parent / "out"
    proc = build(config, out, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config, out, proc


def test_int8_build_of_a_tflite_source_meets_its_size_and_accuracy_budgets(first_build, source):
    config, out, proc = first_build
    manifest = json.loads(proc.stdout)
    assert manifest == json.loads((out / "manifest.json").read_text()) and manifest["passed"] is True
    assert {v["budget"]: v["ok"] for v in manifest["budgets"]} == {
        "max_size_kb": True, "min_accuracy": True, "max_accuracy_drop": True}
    assert [v["name"] for v in manifest["variants"]] == ["float32", "int8"]
    # the float32 variant is the source as it is; the final model is AEQ's full-int8 file
    assert (out / "variants" / "float32.tflite").read_bytes() == source.read_bytes()
    final = manifest["model"]
    assert final["sha256"] == hashlib.sha256((out / "model.tflite").read_bytes()).hexdigest()
    assert final["size_bytes"] * 2 <= source.stat().st_size and final["verified"] is True
    assert manifest["conversion"]["mode"] == "int8" and set(manifest["conversion"]["io_types"]) == {"int8"}
    assert manifest["inputs"]["model"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["versions"]["ai-edge-quantizer"] != "not installed"
    check = manifest["variants"][1]["agreement"]   # verified against the source before it was written
    assert check["reference"] == "float" and check["ok"] and check["top1"] >= check["tolerance"]["min_top1"]
    # the calibration SPEC as written, not this machine's resolved path
    assert check["inputs"].startswith(f"{ROOT / 'calibration' / 'digits_train.npz'} (")
    assert final["arena"]["bytes"] > 0 and manifest["timing"]["latency_ms"]["p50"] > 0
    for stage in ("[build] convert int8", "[build] evaluate float32", "[build] evaluate int8", "[build] arena",
                  "[build] bench int8"):
        assert stage in proc.stderr
    assert "[build] model " not in proc.stderr and "[build] optimize" not in proc.stderr
    report = (out / "report.html").read_text()
    assert "int8 weights and activations (calibrated)" in report and "PASSED" in report


def test_two_builds_of_a_tflite_source_are_byte_identical(first_build, tmp_path):
    config, out, _ = first_build
    again = tmp_path / "out"   # a fresh directory: its own cache, so AEQ runs again
    proc = build(config, again)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "[build] convert int8 done" in proc.stderr and " cached (" not in proc.stderr
    for name in ("model.tflite", "variants/float32.tflite", "variants/int8.tflite"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    first, second = (json.loads((d / "manifest.json").read_text()) for d in (out, again))
    assert first["model"]["sha256"] == second["model"]["sha256"]
    assert without_timing(first) == without_timing(second)


def test_a_budget_the_model_cannot_meet_exits_with_its_code(first_build, source, tmp_path):
    _, out, _ = first_build
    tight = project(tmp_path, source, max_size_kb=1)
    shutil.copytree(out, tmp_path / "out")   # the same inputs: the conversion comes from the cache
    proc = build(tight, tmp_path / "out")
    assert proc.returncode == BUDGETS["max_size_kb"][0], proc.stderr[-2000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["passed"] is False
    errors = [line for line in proc.stderr.splitlines() if line.startswith("edgekit: error:")]
    assert errors == [f"edgekit: error: budget max_size_kb: {manifest['model']['size_kb']:.1f} > 1"]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("edits, key, message", [
    ([("[convert]", '[[optimize]]\nstep = "prune"\nsparsity = 0.5\n\n[convert]')], "step",
     "[[optimize]] #1 (prune): needs a Keras model, and [model] source is a .tflite file"),
    ([(QUANTIZE, QUANTIZE + '\nio_type = "int8"')], "io_type", "[convert] io_type applies to Keras sources"),
    ([(QUANTIZE, QUANTIZE + '\nstorage = "sparse"')], "storage", "[convert] storage: --storage sparse is written by "
     "TensorFlow's converter"),
    ([(QUANTIZE, QUANTIZE + '\nweights = "int4"\nstorage = "int4"')], "storage",
     "it needs --quantize int8 with int8 weights, not int8 (int4 weights)"),
    ([(QUANTIZE, 'quantize = "none"')], "quantize", "a .tflite source is already float"),
    ([(QUANTIZE, 'quantize = "int16x8"\nweights = "int4"')], "weights", "is not offered for a .tflite source"),
    ([(QUANTIZE, 'recipe = "missing.json"')], "recipe", "[convert] recipe: missing.json not found"),
    ([(QUANTIZE, QUANTIZE + '\nrecipe = "recipe.json"')], "quantize",
     "[convert] recipe says how to quantize everything; drop quantize"),
    ([('calibration = "{data}/digits_train.npz"', "")], None, "[data] calibration is needed: int8 quantization"),
    ([('"float_digits.tflite"', '"builtin:digits_cnn"'), ("[data]", '[data]\ntrain = "{data}/digits_train.npz"'),
      (QUANTIZE, QUANTIZE + '\nweights = "int4"')], "weights", "[convert] weights applies to .tflite sources"),
])
def test_settings_a_tflite_source_cannot_use_are_refused_in_one_line(tmp_path, source, cli, edits, key, message):
    text = CONFIG
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    (tmp_path / "recipe.json").write_text("[]")
    config = project(tmp_path, source, text)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    line = str(info.value)
    assert message in line and "\n" not in line, line
    at = int(re.match(rf"{re.escape(str(config))}:(\d+): ", line).group(1))
    written = config.read_text().splitlines()[at - 1]
    assert written.startswith(key) if key else written == "[data]", (line, written)
    result = cli("build", config, "--out", tmp_path / "out")   # the command: exit 2, that line, nothing written
    assert result.exit_code == 2 and result.output.strip() == f"edgekit: error: {line}"
    assert not (tmp_path / "out").exists()


def test_the_target_profile_is_checked_before_anything_is_written(tmp_path, source, cli):
    # weight-only int4: tflite-runtime 2.14 has no int4 DEQUANTIZE kernel, so rpi4 does not list the form
    config = project(tmp_path, source, CONFIG.replace('quantize = "int8"', 'quantize = "none"\nweights = "int4"')
                     + '\n[target]\nname = "rpi4"\n')
    result = cli("build", config, "--out", tmp_path / "out")
    assert result.exit_code == 5, result.output
    assert "[convert] weights-int4 variant of float_digits.tflite: tensor '" in result.output
    assert "is stored as int4-dequantize, which target rpi4 does not run correctly" in result.output
    assert not (tmp_path / "out" / "model.tflite").exists() and not (tmp_path / "out" / "manifest.json").exists()


def test_keep_float_and_per_tensor_reach_the_quantizer(tmp_path, source):
    from edgekit.inspect import read_tflite

    text = CONFIG.replace(QUANTIZE, QUANTIZE + '\nkeep_float = ["FULLY_CONNECTED"]\nper_tensor = true')
    config = project(tmp_path, source, text, max_size_kb=round(source.stat().st_size / 1024, 1))
    proc = build(config, tmp_path / "out", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    conversion = json.loads(proc.stdout)["conversion"]
    assert conversion["kept_float"] == ["FULLY_CONNECTED"] and conversion["per_tensor"] is True
    main = read_tflite(tmp_path / "out" / "model.tflite").main
    kernels = [(op.opcode, main.tensors[op.inputs[1]]) for op in main.operators
               if op.opcode in ("CONV_2D", "FULLY_CONNECTED")]
    assert {opcode for opcode, _ in kernels} == {"CONV_2D", "FULLY_CONNECTED"}
    for opcode, kernel in kernels:
        assert kernel.dtype == ("float32" if opcode == "FULLY_CONNECTED" else "int8"), (opcode, kernel.dtype)
        assert opcode == "FULLY_CONNECTED" or len(kernel.quantization.scales) == 1


def test_a_recipe_file_replaces_the_mode_keys(first_build, source, tmp_path):
    from edgekit.convert.tflite_source import recipes

    _, out, _ = first_build
    recipe = recipes.build_recipe(recipes.get_mode("int8", None))   # what quantize = "int8" asks AEQ for
    (tmp_path / "int8.json").write_text(json.dumps(recipe))
    config = project(tmp_path, source, CONFIG.replace(QUANTIZE, 'recipe = "int8.json"'))
    proc = build(config, tmp_path / "out", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads(proc.stdout)
    assert [v["name"] for v in manifest["variants"]] == ["float32", "recipe"]
    assert manifest["conversion"]["mode"] == "recipe int8.json" and manifest["inputs"]["recipe"]["spec"] == "int8.json"
    assert (tmp_path / "out" / "model.tflite").read_bytes() == (out / "model.tflite").read_bytes()
