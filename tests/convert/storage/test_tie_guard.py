"""The int8 guard: tied classes are no disagreement, a broken file still is one; --no-verify writes it anyway."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.support import run_edgekit


@pytest.fixture(scope="module")
def tied_model(tmp_path_factory, digits_train):
    """A digits classifier whose ten output units are copies of one, their biases 1e-5 apart: the float
    model always ranks the last class first, by far less than one int8 output step."""
    import keras

    keras.utils.set_random_seed(0)
    data = np.load(digits_train)
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(inputs))
    scores = keras.layers.Dense(10, name="scores")
    model = keras.Model(inputs, scores(hidden))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data["x"], data["y"], epochs=1, verbose=0)
    kernel, _ = scores.get_weights()
    scores.set_weights([np.repeat(kernel[:, :1], 10, axis=1), np.arange(10, dtype=np.float32) * 1e-5])
    path = tmp_path_factory.mktemp("tied") / "tied.keras"
    model.save(path)
    return path


def test_tied_outputs_convert_to_int8(tied_model, digits_train, tmp_path):
    import keras

    from edgekit.convert.runners import run_model

    out = tmp_path / "tied.tflite"
    done = run_edgekit("convert", tied_model, "-o", out, "--quantize", "int8", "--calibration", digits_train,
                       "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    (check,) = result["agreement"]
    assert check["ok"] and check["top1"] == 1.0 and check["max_steps"] < 2 and result["verified"] is True
    x = np.load(digits_train)["x"][:200]
    reference = keras.models.load_model(tied_model).predict(x, verbose=0)
    (written,) = run_model("litert", out.read_bytes(), [x], str(out))
    assert np.mean(reference.argmax(1) == written.argmax(1)) < 0.5   # a plain argmax match refused this file


def _negated_kernels(monkeypatch):
    """Make the converter's int8 file wrong on purpose: every int8 kernel's bytes negated in the flatbuffer."""
    import edgekit.convert.file as convert_file_module
    from edgekit.inspect import read_tflite

    real = convert_file_module.convert_model

    def broken(*args, **kwargs) -> bytes:
        flatbuffer = real(*args, **kwargs)
        for tensor in read_tflite(flatbuffer).main.tensors:
            if tensor.is_constant and tensor.dtype == "int8" and tensor.data.size >= 256:
                data = tensor.data.tobytes()
                assert flatbuffer.count(data) == 1
                flatbuffer = flatbuffer.replace(data, (-tensor.data.astype(np.int16)).clip(-127, 127)
                                                .astype(np.int8).tobytes())
        return flatbuffer

    monkeypatch.setattr(convert_file_module, "convert_model", broken)


def test_a_broken_int8_file_is_refused_and_written_only_with_no_verify(cli, digits_model, digits_train, tmp_path,
                                                                      monkeypatch):
    _negated_kernels(monkeypatch)
    out = tmp_path / "broken.tflite"
    args = ("convert", digits_model, "-o", out, "--quantize", "int8", "--calibration", digits_train)
    refused = cli(*args)
    assert refused.exit_code == 5, refused.output
    assert "disagree with the float reference on litert" in refused.stderr and "nothing was written" in refused.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tflite*"))

    written = cli(*args, "--no-verify", "--json")
    assert written.exit_code == 0, written.stderr
    result = json.loads(written.stdout)
    (check,) = result["agreement"]
    assert result["verified"] is False and not check["ok"] and check["top1"] < 0.9
    warnings = [line for line in written.stderr.splitlines() if line.startswith("edgekit: warning: ")]
    assert any("not verified" in line and str(out) in line for line in warnings), written.stderr
    assert out.read_bytes() and result["sha256"]


def test_a_class_within_one_step_of_the_best_agrees_and_one_further_does_not():
    from edgekit.convert.agreement import top1_agreement

    reference = np.array([[0.0, 4.0, 3.0], [0.0, 4.0, 2.9], [0.0, 4.0, 4.0]])
    picks_class_2 = np.array([[0.0, 0.0, 1.0]] * 3)
    assert top1_agreement(reference, picks_class_2, step=1.0).tolist() == [True, False, True]
