"""``edgekit eval`` on real models (Keras and TFLite, float and int8) and real data."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image


def _eval(cli, *args) -> dict:
    result = cli("eval", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_keras_and_tflite_agree(cli, digits_model, digits_tflite, digits_val):
    keras_report = _eval(cli, digits_model, "--data", digits_val)
    tflite_report = _eval(cli, digits_tflite("none"), "--data", digits_val)
    labels = np.load(digits_val)["y"]
    assert keras_report["kind"] == "keras" and tflite_report["kind"] == "tflite"
    assert keras_report["samples"] == tflite_report["samples"] == len(labels)
    assert abs(keras_report["correct"] - tflite_report["correct"]) <= 1
    assert tflite_report["accuracy"] == tflite_report["correct"] / len(labels) > 0.9


def test_human_output_and_limit(cli, digits_tflite, digits_val):
    result = cli("eval", digits_tflite("int8", "int8"), "--data", digits_val, "--limit", "100")
    assert result.exit_code == 0, result.output
    assert "top-1 accuracy" in result.stdout and "/100) on " in result.stdout


def test_fixed_batch_model_is_padded(cli, digits_model, digits_val, tmp_path):
    """A model whose batch dimension is fixed at 4 (359 samples: the last batch is padded)."""
    import keras

    from edgekit.convert import convert_model
    from edgekit.fileio import atomic_write_bytes

    model = keras.models.load_model(digits_model)
    inp = keras.Input((8, 8, 1), batch_size=4, name="image")
    fixed = tmp_path / "batch4.tflite"
    atomic_write_bytes(fixed, convert_model(keras.Model(inp, model(inp))))
    assert _eval(cli, fixed, "--data", digits_val)["correct"] == _eval(cli, digits_model, "--data", digits_val)["correct"]


def test_labelled_image_directory(cli, digits_tflite, digits_val, tmp_path):
    """The validation digits as PNG files in class folders, read back with --scale."""
    data = np.load(digits_val)
    for i, (image, label) in enumerate(zip(data["x"][:120], data["y"][:120])):
        folder = tmp_path / "images" / f"digit_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(image[..., 0] * 255).astype(np.uint8), "L").save(folder / f"{i:03d}.png")
    present = sorted({int(y) for y in data["y"][:120]})
    assert present == list(range(10))  # folder index == digit
    from_images = _eval(cli, digits_tflite("int8"), "--data", tmp_path / "images", "--scale", 1 / 255)
    from_arrays = _eval(cli, digits_tflite("int8"), "--data", digits_val, "--limit", 359)
    assert from_images["samples"] == 120
    assert from_images["accuracy"] > from_arrays["accuracy"] - 0.03


def test_bad_input(cli, digits_tflite, digits_val, tmp_path):
    def fails(*args) -> str:
        result = cli("eval", *args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        return result.stderr.splitlines()[-1]

    model = digits_tflite("int8")
    unlabelled = tmp_path / "x.npy"
    np.save(unlabelled, np.load(digits_val)["x"])
    assert f"{unlabelled}: no labels" in fails(model, "--data", unlabelled)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((3, 8, 8), np.float32), y=[0, 1, 2])
    assert f"{wrong}: expected shape (8, 8, 1) per sample, found (8, 8)" in fails(model, "--data", wrong)
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"\0" * 64)
    assert f"{bogus}: cannot load as a TFLite model" in fails(bogus, "--data", digits_val)
    assert "missing.tflite: no such file or directory" in fails(tmp_path / "missing.tflite", "--data", digits_val)
    assert "--mean and --std go together" in fails(model, "--data", digits_val, "--mean", "0.5")
