"""TFLite Micro: LUT storage verified under TFLM's interpreter; the silently wrong forms refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.convert.agreement import LOSSLESS, not_verified, verify
from edgekit.convert.storage import FORMS, lut
from edgekit.errors import OutputMismatchError, StorageError
from edgekit.inspect import read_tflite
from edgekit.inspect.storage import storage_forms
from helpers.support import run_edgekit


@pytest.fixture(scope="module")
def val_inputs(digits_val):
    return [np.load(digits_val)["x"][:64].astype(np.float32)]


@pytest.mark.parametrize("model, bits, ratio", [("grid_int8", 4, 0.60), ("ternary_int8", 2, 0.40)])
def test_lut_export_is_smaller_identical_on_tflm_and_reports_the_arena(storage_models, digits_val, tmp_path, model,
                                                                       bits, ratio):
    done = run_edgekit("export", storage_models[model], "--out", tmp_path, "--storage", "lut", "--data", digits_val,
                       "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    int8_bytes = storage_models[model].stat().st_size
    assert result["int8_size_bytes"] == int8_bytes and result["length"] <= ratio * int8_bytes
    assert max(t["bits"] for t in result["tensors"]) <= bits and all(t["axis"] == 0 for t in result["tensors"])
    assert result["agreement"]["runtime"] == "tflm" and result["agreement"]["max_steps"] == 0
    assert result["agreement"]["top1"] == 1.0 and result["agreement"]["samples"] > 100
    assert result["arena"]["method"] == "tflite-micro" and result["arena"]["bytes"] > result["int8_arena"]["bytes"]
    assert f"g_model_len = {result['length']};" in (tmp_path / "model_data.cc").read_text()


def test_per_tensor_lut_on_per_channel_weights_is_refused(storage_models, val_inputs, tmp_path):
    """TFLM decodes one table per tensor on per-channel weights without complaint, and computes wrong."""
    int8 = storage_models["grid_int8"].read_bytes()
    records = [{**r, "axis": None, "bits": 7} for r in lut.plan(int8)]
    wrong = lut.compress(int8, records, "test")
    with pytest.raises(OutputMismatchError, match="disagree with the int8 reference on tflm"):
        verify(int8, wrong, val_inputs, runtime="tflm", tolerance=LOSSLESS, where="wrong.tflite", what="lut")
    kept = verify(int8, wrong, val_inputs, runtime="tflm", tolerance=LOSSLESS, where="wrong.tflite", what="lut",
                  refuse=False)   # --no-verify: the figures, for the warning and "verified": false
    assert not kept.ok and kept.max_steps > 0
    assert not_verified("wrong.tflite", [kept]).startswith("wrong.tflite written but not verified: its outputs "
                                                           "disagree with the int8 reference (tflm: max ")
    assert "lut-per-tensor-on-per-channel" in storage_forms(read_tflite(wrong))
    path = tmp_path / "wrong.tflite"
    path.write_bytes(wrong)
    done = run_edgekit("export", path, "--out", tmp_path / "out")
    assert done.returncode == 5 and "stored as lut-per-tensor-on-per-channel" in done.stderr
    assert "TFLite Micro does not run" in done.stderr and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def sparse_files(storage_models, digits_train, tmp_path_factory):
    import keras

    from edgekit.convert import convert_model

    model = keras.models.load_model(storage_models["sparse"])
    calibration = np.load(digits_train)["x"][:100]
    folder = tmp_path_factory.mktemp("sparse")
    files = {}
    for name, per_tensor, sparsity in (("int8", False, False), ("per_channel", False, True),
                                       ("int8_per_tensor", True, False), ("per_tensor", True, True)):
        files[name] = folder / f"{name}.tflite"
        files[name].write_bytes(convert_model(model, quantize="int8", representative=calibration,
                                              per_tensor=per_tensor, sparsity=sparsity))
    return files


def test_sparse_per_channel_is_silently_wrong_on_tflm_and_refused(sparse_files, val_inputs, tmp_path):
    int8, sparse = sparse_files["int8"].read_bytes(), sparse_files["per_channel"].read_bytes()
    assert "sparse-per-channel" in storage_forms(read_tflite(sparse))
    assert len(sparse) < 0.5 * len(int8)
    tolerance = FORMS["sparse"].tolerance
    verify(int8, sparse, val_inputs, runtime="litert", tolerance=tolerance, where="sparse", what="sparse")
    with pytest.raises(OutputMismatchError, match="on tflm"):
        verify(int8, sparse, val_inputs, runtime="tflm", tolerance=tolerance, where="sparse", what="sparse")
    done = run_edgekit("export", sparse_files["per_channel"], "--out", tmp_path / "out")
    assert done.returncode == 5 and "stored as sparse-per-channel" in done.stderr and not (tmp_path / "out").exists()


def test_deploy_check_refuses_a_form_the_target_runtime_gets_wrong(sparse_files):
    from edgekit.remote.compat import check_model_for_target
    from edgekit.targets import load_target

    rpi4, local = load_target("rpi4"), load_target("local")
    assert "sparse-per-channel" not in rpi4.storage and "sparse" in rpi4.storage
    with pytest.raises(StorageError, match="sparse-per-channel, which target rpi4 does not run correctly"):
        check_model_for_target(sparse_files["per_channel"], rpi4)
    check_model_for_target(sparse_files["per_tensor"], rpi4)
    with pytest.raises(StorageError, match="target coral-usb"):
        check_model_for_target(sparse_files["per_tensor"], load_target("coral-usb"))


def test_convert_storage_sparse_is_per_tensor_and_within_one_step(storage_models, digits_train, tmp_path):
    out = tmp_path / "sparse.tflite"
    done = run_edgekit("convert", storage_models["sparse"], "-o", out, "--quantize", "int8", "--calibration",
                       digits_train, "--storage", "sparse", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["per_tensor"] and result["size_bytes"] < 0.5 * result["int8_size_bytes"]
    assert result["agreement"][1]["max_steps"] <= 1 and result["agreement"][1]["reference"] == "int8"
    assert set(storage_forms(read_tflite(out))) <= {"int8", "sparse"}


def test_int4_per_channel_fully_connected_cannot_run_on_tflm_and_is_refused(storage_models, val_inputs, tmp_path):
    """The layout int4 storage never writes: LiteRT runs it, TFLM cannot allocate it, so export and deploy refuse it."""
    from helpers import storage_shapes

    from edgekit.convert.runners import run_model
    from edgekit.convert.storage.int4 import to_int4
    from edgekit.remote.compat import check_model_for_target
    from edgekit.targets import load_target

    int8 = storage_models["grid_int8"].read_bytes()
    wrong = storage_shapes.fc_scales_per_channel(to_int4(int8, "test")[0])
    assert "int4-fc-per-channel" in storage_forms(read_tflite(wrong))
    assert run_model("litert", wrong, val_inputs, "wrong.tflite")[0].shape == (64, 10)
    with pytest.raises(StorageError, match="TFLite Micro cannot run the file"):
        run_model("tflm", wrong, val_inputs, "wrong.tflite")
    path = tmp_path / "wrong.tflite"
    path.write_bytes(wrong)
    done = run_edgekit("export", path, "--out", tmp_path / "out")
    assert done.returncode == 5 and "stored as int4-fc-per-channel" in done.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(StorageError, match="int4-fc-per-channel, which target rpi4 does not run correctly"):
        check_model_for_target(path, load_target("rpi4"))
