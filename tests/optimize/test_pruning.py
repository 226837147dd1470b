"""Magnitude and N:M pruning: masks survive training, saving and strip; selection; warnings."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from edgekit.models import compile_classifier
from edgekit.optimize.layers import SkippedLayersWarning
from edgekit.optimize.pruning import (ConstantSparsity, PolynomialDecay, PruneLowMagnitude, UpdatePruningStep,
                                      prune_low_magnitude, strip_pruning)
from edgekit.optimize.pruning.algorithm import block_magnitude_mask, magnitude_mask, n_of_m_mask


def _kernels(model):
    return {layer.name: layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")}


def test_magnitude_mask_keeps_largest():
    weights = np.arange(1, 21, dtype="float32").reshape(4, 5) * np.where(np.arange(20) % 2, 1, -1).reshape(4, 5)
    mask = np.asarray(magnitude_mask(keras.ops.convert_to_tensor(weights), 0.75))
    assert mask.sum() == 5
    assert set(np.abs(weights[mask == 1])) == {16, 17, 18, 19, 20}


def test_block_mask_prunes_whole_runs_of_input_channels_by_mean_magnitude():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 3, 10, 6)).astype("float32")  # in = 10: the last block of 4 is partial
    mask = np.asarray(block_magnitude_mask(keras.ops.convert_to_tensor(weights), 0.5, 4))
    blocks = np.pad(mask, [(0, 0), (0, 0), (0, 2), (0, 0)]).reshape(3, 3, 3, 4, 6)
    full = blocks[:, :, :2]
    assert np.all((full.min(axis=3) == full.max(axis=3)))  # a block is kept or pruned whole
    means = np.pad(np.abs(weights), [(0, 0), (0, 0), (0, 2), (0, 0)]).reshape(3, 3, 3, 4, 6).mean(axis=3)
    kept = blocks.max(axis=3) == 1
    assert kept.sum() == means.size // 2  # half of the 162 blocks
    assert means[kept].min() > means[~kept].max()  # ranked by mean magnitude (padding counts as zeros)


def test_n_of_m_mask_groups_along_input_channels():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 3, 10, 6)).astype("float32")  # conv: (kh, kw, in, out), in not a multiple of 4
    mask = np.asarray(n_of_m_mask(keras.ops.convert_to_tensor(weights), 2, 4))
    padded = np.pad(mask, [(0, 0), (0, 0), (0, 2), (0, 0)])
    per_group = padded.reshape(3, 3, 3, 4, 6).sum(axis=3)
    assert per_group[:, :, :2].max() == 2 and per_group[:, :, :2].min() == 2  # full groups keep exactly 2
    assert per_group[:, :, 2].max() == 2  # the partial group (2 real channels) keeps both
    kept = np.abs(weights) * mask
    dropped = np.abs(weights) * (1 - mask)
    grouped = lambda a: np.pad(a, [(0, 0), (0, 0), (0, 2), (0, 0)]).reshape(3, 3, 3, 4, 6)
    assert np.all(grouped(dropped).max(axis=3) <= grouped(kept).max(axis=3))


@pytest.mark.slow
def test_masks_survive_training_saving_and_strip(trained, digits, tmp_path):
    x, y, xv, yv = digits
    pruned = prune_low_magnitude(trained, PolynomialDecay(0.0, 0.75, 0, 40, frequency=10))
    compile_classifier(pruned, 1e-3)
    pruned.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[UpdatePruningStep()])
    wrappers = [layer for layer in pruned.layers if isinstance(layer, PruneLowMagnitude)]
    assert [w.layer.name for w in wrappers] == ["conv1", "conv2", "fc1", "logits"]
    for wrapper in wrappers:
        assert 1 - wrapper.masks[0].numpy().mean() == pytest.approx(0.75, abs=0.01)
    # the forward pass uses kernel * mask, also after more training without mask updates
    pruned.fit(x, y, epochs=1, batch_size=32, verbose=0)
    saved = tmp_path / "pruned.keras"
    pruned.save(saved)
    reloaded = keras.saving.load_model(saved)
    np.testing.assert_allclose(reloaded.predict(xv, verbose=0), pruned.predict(xv, verbose=0), atol=1e-5)

    plain = strip_pruning(reloaded)
    assert not any(isinstance(layer, PruneLowMagnitude) for layer in plain.layers)
    assert len(plain.weights) == len(trained.weights)
    assert [tuple(w.shape) for w in plain.weights] == [tuple(w.shape) for w in trained.weights]
    for name, kernel in _kernels(plain).items():
        assert np.mean(kernel == 0) >= 0.75 - 0.01, name
    np.testing.assert_allclose(plain.predict(xv, verbose=0), pruned.predict(xv, verbose=0), atol=1e-5)

    stripped = tmp_path / "stripped.keras"
    plain.save(stripped)
    # a stripped model needs nothing of edgekit to load
    code = (f"import keras, numpy as np; m = keras.saving.load_model({str(stripped)!r}); "
            "print(min(float(np.mean(l.kernel.numpy() == 0)) for l in m.layers if hasattr(l, 'kernel')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env={"PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) >= 0.74


def test_structured_2_of_4_on_dense_and_conv(trained, digits):
    x, y, _, _ = digits
    pruned = prune_low_magnitude(trained, ConstantSparsity(0.5, 0, frequency=5), n_of_m=(2, 4))
    compile_classifier(pruned, 1e-3)
    pruned.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0, callbacks=[UpdatePruningStep()])
    kernels = _kernels(strip_pruning(pruned))
    for name in ("conv2", "fc1", "logits"):
        kernel = kernels[name]
        nonzero = (kernel != 0).reshape(*kernel.shape[:-2], kernel.shape[-2] // 4, 4, kernel.shape[-1])
        assert nonzero.sum(axis=-2).max() <= 2, name
        assert np.mean(kernel == 0) >= 0.5


def test_selection_by_type_regex_and_predicate(trained):
    schedule = ConstantSparsity(0.5)
    by_type = prune_low_magnitude(trained, schedule, select=keras.layers.Dense)
    by_name = prune_low_magnitude(trained, schedule, select=r"^conv")
    by_predicate = prune_low_magnitude(trained, schedule, select=lambda layer: layer.name == "fc1")
    wrapped = lambda m: [l.layer.name for l in m.layers if isinstance(l, PruneLowMagnitude)]
    assert wrapped(by_type) == ["fc1", "logits"]
    assert wrapped(by_name) == ["conv1", "conv2"]
    assert wrapped(by_predicate) == ["fc1"]


def test_unsupported_and_depthwise_layers_are_listed_in_one_warning():
    inputs = keras.Input((8, 8, 4))
    a = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(inputs)
    b = keras.layers.Conv2DTranspose(4, 3, padding="same", name="up")(a)
    c = keras.layers.BatchNormalization(name="bn")(b)
    d = keras.layers.Conv2D(8, 1, name="pw")(keras.layers.Add()([c, inputs]))
    model = keras.Model(inputs, d)
    with pytest.warns(SkippedLayersWarning) as record:
        pruned = prune_low_magnitude(model, ConstantSparsity(0.5), n_of_m=(2, 4))
    assert len(record) == 1
    message = str(record[0].message)
    assert "dw (DepthwiseConv2D)" in message and "up (Conv2DTranspose)" in message and "bn" not in message
    assert [l.layer.name for l in pruned.layers if isinstance(l, PruneLowMagnitude)] == ["pw"]
    unstructured = prune_low_magnitude(model, ConstantSparsity(0.5))
    assert {l.layer.name for l in unstructured.layers if isinstance(l, PruneLowMagnitude)} == {"dw", "pw"}


def test_2_of_4_survives_full_int8_conversion(trained, digits):
    """TFLite stores filters (out, ..., in): every 4 consecutive input channels keep <= 2 non-zeros."""
    from helpers.support import tflite_weights
    from edgekit.convert import convert_model

    x, y, _, _ = digits
    pruned = prune_low_magnitude(trained, ConstantSparsity(0.5, 0, frequency=5), n_of_m=(2, 4))
    compile_classifier(pruned, 1e-3)
    pruned.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0, callbacks=[UpdatePruningStep()])
    weights = tflite_weights(convert_model(strip_pruning(pruned), quantize="int8", representative=x[:64]))
    groups = [w for w in weights.values() if w.shape[-1] % 4 == 0]
    assert len(groups) == 3  # conv2, fc1, logits (conv1 has a single input channel)
    for kernel in groups:
        per_group = (kernel != 0).reshape(*kernel.shape[:-1], -1, 4).sum(axis=-1)
        assert per_group.max() <= 2
        assert np.mean(kernel == 0) >= 0.5


def test_block_pruning_leaves_runs_of_zeros_in_the_int8_file(trained, digits):
    """In TFLite's (out, ..., in) layout the pruned blocks are runs of K zeros along the last axis."""
    from helpers.support import tflite_weights
    from edgekit.convert import convert_model

    x, y, _, _ = digits
    pruned = prune_low_magnitude(trained, ConstantSparsity(0.75, 0, frequency=5), block_size=4)
    compile_classifier(pruned, 1e-3)
    pruned.fit(x[:256], y[:256], epochs=1, batch_size=32, verbose=0, callbacks=[UpdatePruningStep()])
    weights = tflite_weights(convert_model(strip_pruning(pruned), quantize="int8", representative=x[:64]))
    blocked = [w for w in weights.values() if w.shape[-1] % 4 == 0]
    assert len(blocked) == 3  # conv2, fc1, logits
    for kernel in blocked:
        zeros = (kernel == 0).reshape(*kernel.shape[:-1], -1, 4).sum(axis=-1)
        assert np.mean(zeros == 4) >= 0.75  # >= 75% of the blocks are all zero
        assert np.mean(kernel == 0) >= 0.75


def test_bad_block_size_is_a_usage_error(trained):
    from edgekit.errors import UsageError

    with pytest.raises(UsageError, match="block size must be an integer >= 1"):
        prune_low_magnitude(trained, ConstantSparsity(0.5), block_size=0)
