"""Low-rank factorization: ranks and parameter counts by hand, exactness at full rank, the CLI and TOML paths."""

from __future__ import annotations

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.models import digits_cnn
from edgekit.optimize.lowrank import LowRankConfig, apply_plan, factorize, plan_factorization
from edgekit.optimize.lowrank.ranks import full_ranks


def _plans(model, **config) -> dict:
    return {plan.layer: plan for plan in plan_factorization(model, LowRankConfig(**config))}


def _kernel_with_singular_values(rng, rows: int, cols: int, values) -> np.ndarray:
    u = np.linalg.qr(rng.standard_normal((rows, rows)))[0][:, :len(values)]
    v = np.linalg.qr(rng.standard_normal((cols, cols)))[0][:, :len(values)]
    return (u * np.asarray(values)) @ v.T


def test_ranks_and_parameter_counts_by_hand():
    keras.utils.set_random_seed(0)
    model = digits_cnn()  # conv1 3x3x1x32, conv2 3x3x32x64, fc1 1024x128, logits 128x10
    plans = _plans(model, ratio=0.5)
    # fc1: largest r with r * (1024 + 128) <= 0.5 * 1024 * 128 -> 56; plus its 128 biases
    assert plans["fc1"].method == "svd" and plans["fc1"].ranks == (56,)
    assert plans["fc1"].params_after == 56 * (1024 + 128) + 128 == 64_640
    assert plans["fc1"].params_before == 1024 * 128 + 128
    # conv2 (Tucker-2): r_in * 32 (no 1x1 when r_in == 32) + 9 * r_in * r_out + r_out * 64 (none when 64) + bias
    r_in, r_out = plans["conv2"].ranks
    kernel = r_in * 32 * (r_in < 32) + 9 * r_in * r_out + r_out * 64 * (r_out < 64)
    assert plans["conv2"].method == "tucker" and plans["conv2"].params_after == kernel + 64
    assert kernel <= 0.5 * 9 * 32 * 64
    # the classifier feeds the model output: kept whole, and the reason says how to include it
    assert plans["logits"].method is None and "feeds the model output 'logits'" in plans["logits"].reason

    spatial = _plans(model, ratio=0.5, conv="spatial")["conv2"]
    # kh x 1 then 1 x kw: r * (3 * 32 + 3 * 64) <= 9216 -> r = 32
    assert spatial.ranks == (32,) and spatial.params_after == 32 * (3 * 32 + 3 * 64) + 64

    forced = _plans(model, ratio=0.25, layer_ranks={"logits": 4, "conv1": 0})
    assert forced["logits"].ranks == (4,) and forced["logits"].params_after == 4 * (128 + 10) + 10
    assert forced["conv1"].method is None and "NAME=0" in forced["conv1"].reason
    assert forced["fc1"].ranks == (28,)  # floor(0.25 * 131072 / 1152)

    named = _plans(model, layer_ranks={"fc1": 16})  # ranks alone: only the named layers
    assert named["fc1"].ranks == (16,) and named["fc1"].params_after == 16 * (1024 + 128) + 128
    assert named["conv2"].method is None and "not named in --lowrank-layer-ranks" in named["conv2"].reason

    result = factorize(model, LowRankConfig(ratio=0.5))
    assert result.params_after == model.count_params() - sum(p.params_before - p.params_after
                                                             for p in result.factorized)
    assert [layer.name for layer in result.model.layers if "fc1" in layer.name] == ["fc1_reduce", "fc1"]
    assert result.model.get_layer("fc1_reduce").kernel.shape == (1024, 56)


def test_energy_picks_the_smallest_rank_that_keeps_it():
    rng = np.random.default_rng(0)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(48, name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(hidden))
    # singular values 3, 2, 1: rank 1 keeps 9/14, rank 2 13/14, rank 3 all
    model.get_layer("hidden").kernel.assign(_kernel_with_singular_values(rng, 64, 48, [3.0, 2.0, 1.0]))
    assert _plans(model, energy=0.6)["hidden"].ranks == (1,)
    assert _plans(model, energy=0.9)["hidden"].ranks == (2,)
    assert _plans(model, energy=0.95)["hidden"].ranks == (3,)
    result = factorize(model, LowRankConfig(energy=0.9))
    assert result.layers[0].energy == pytest.approx(13 / 14, abs=1e-4)
    assert result.layers[0].params_after == 2 * (64 + 48) + 48


def test_tucker2_with_energy_finds_the_multilinear_rank_and_is_exact():
    rng = np.random.default_rng(1)
    inputs = keras.Input((10, 10, 16))
    conv = keras.layers.Conv2D(24, 3, strides=2, padding="same", activation="relu", name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1, name="head")(conv))
    core = rng.standard_normal((3, 3, 4, 6))
    u_in, u_out = rng.standard_normal((16, 4)), rng.standard_normal((24, 6))
    model.get_layer("conv").kernel.assign(np.einsum("hwrq,cr,sq->hwcs", core, u_in, u_out))
    model.get_layer("conv").bias.assign(rng.standard_normal(24))
    result = factorize(model, LowRankConfig(energy=1.0))
    plan = result.layers[0]
    assert plan.method == "tucker" and plan.ranks == (4, 6)
    assert plan.params_after == 16 * 4 + 9 * 4 * 6 + 6 * 24 + 24
    assert [type(layer).__name__ for layer in result.model.layers[1:4]] == ["Conv2D"] * 3
    assert result.model.get_layer("conv_core").strides == (2, 2)
    assert result.model.get_layer("conv").kernel.shape == (1, 1, 6, 24)
    x = rng.random((4, 10, 10, 16), dtype=np.float32)
    np.testing.assert_allclose(result.model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-4)


def _strided_model():
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="stem")(inputs)
    x = keras.layers.Conv2D(16, (3, 5), dilation_rate=(2, 1), padding="same", activation="relu", name="dilated")(x)
    x = keras.layers.Conv2D(24, 1, strides=2, activation="relu", name="pointwise")(x)
    x = keras.layers.Conv2D(8, 3, padding="valid", name="valid")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu", name="hidden")(x)
    return keras.Model(inputs, keras.layers.Dense(5, name="out")(x))


@pytest.mark.parametrize("conv", ["tucker", "spatial"])
def test_full_rank_reproduces_the_outputs_and_lower_ranks_approximate(conv):
    keras.utils.set_random_seed(0)
    model = _strided_model()
    x = np.random.default_rng(0).random((8, 12, 12, 3), dtype=np.float32)
    expected = model.predict(x, verbose=0)
    plans = plan_factorization(model, LowRankConfig(ratio=0.9, conv=conv, layer_ranks={"out": 5}))
    methods = {plan.layer: plan.method for plan in plans}
    assert methods["pointwise"] == "svd" and methods["hidden"] == "svd" and methods["dilated"] == conv
    full = [replace(plan, ranks=full_ranks(plan.method, plan.kernel_shape)) if plan.method else plan
            for plan in plans]
    exact = apply_plan(model, full)
    assert len(exact.model.layers) > len(model.layers)  # factor layers really are in the graph
    np.testing.assert_allclose(exact.model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    assert all(plan.energy == pytest.approx(1.0, abs=1e-5) for plan in exact.factorized)

    energies = []  # lower ranks approximate each kernel less closely, never exactly
    for ratio in (0.3, 0.6, 0.9):
        reduced = factorize(model, LowRankConfig(ratio=ratio, conv=conv))
        assert reduced.factorized and reduced.params_after < model.count_params()
        energies.append({plan.layer: plan.energy for plan in reduced.factorized})
        hidden = next(plan for plan in reduced.factorized if plan.layer == "hidden")
        values = np.linalg.svd(np.asarray(model.get_layer("hidden").kernel), compute_uv=False) ** 2
        assert hidden.energy == pytest.approx(values[:hidden.ranks[0]].sum() / values.sum(), abs=1e-4)
    for layer in energies[0]:
        assert 0 < energies[0][layer] < energies[1][layer] < energies[2][layer] < 1, layer


def test_a_nested_backbone_and_a_shared_layer():
    keras.utils.set_random_seed(0)
    inner = keras.Input((8, 8, 3))
    backbone = keras.Model(inner, keras.layers.Conv2D(16, 3, padding="same", name="bconv")(inner), name="backbone")
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    shared = keras.layers.Dense(64, name="shared")  # called twice: factorized once, still shared
    merged = keras.layers.Add()([shared(keras.layers.Dense(64, name="d1")(x)),
                                 shared(keras.layers.Dense(64, name="d2")(x))])
    model = keras.Model(inputs, keras.layers.Dense(3, name="out")(merged))
    plans = plan_factorization(model, LowRankConfig(layer_ranks={"shared": 8, "bconv": 4}))
    full = [replace(plan, ranks=full_ranks(plan.method, plan.kernel_shape)) if plan.method else plan for plan in plans]
    result = apply_plan(model, full)
    names = [layer.name for layer in result.model.layers]
    assert names.count("shared_reduce") == 1 and "backbone" not in names  # flattened
    x = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
    np.testing.assert_allclose(result.model.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_a_trained_model_at_high_energy_keeps_its_predictions(trained, digits):
    _, _, x_val, _ = digits
    expected = np.argmax(trained.predict(x_val, verbose=0), axis=-1)
    agreement = {}
    for energy in (0.5, 0.95):
        result = factorize(trained, LowRankConfig(energy=energy))
        assert result.params_after < trained.count_params()
        found = np.argmax(result.model.predict(x_val, verbose=0), axis=-1)
        agreement[energy] = np.mean(found == expected)
    assert agreement[0.95] >= 0.95 and agreement[0.5] < agreement[0.95]


def test_layers_that_cannot_or_need_not_be_factorized_are_kept_and_reported():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(8, 3, groups=2, name="grouped")(inputs)
    x = keras.layers.DepthwiseConv2D(3, name="depthwise")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(4, name="tiny")(x)
    x = keras.layers.Dense(4, name="square")(x)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(keras.layers.Dense(3, name="out")(x)))
    plans = _plans(model, ratio=1.0)
    assert "grouped convolution (groups=2)" in plans["grouped"].reason
    assert "DepthwiseConv2D is not factorized" in plans["depthwise"].reason
    assert "saves nothing (16 >= 16 kernel weights)" in plans["square"].reason  # rank 2: 2 * (4 + 4)
    assert "feeds the model output" in plans["out"].reason  # through the softmax
    assert all(plan.params_after == plan.params_before for plan in plans.values() if plan.method is None)
    with pytest.raises(UsageError, match="layer 'grouped' cannot be factorized: grouped convolution"):
        plan_factorization(model, LowRankConfig(layer_ranks={"grouped": 2}))
    with pytest.raises(UsageError, match="has no layer 'nope'"):
        plan_factorization(model, LowRankConfig(layer_ranks={"nope": 2}))


@pytest.mark.parametrize("flags, message", [
    (["--lowrank", "1.5"], "--lowrank: ratio 1.5 is out of range; use 0 < ratio <= 1"),
    (["--lowrank", "0"], "--lowrank: ratio 0.0 is out of range"),
    (["--lowrank-energy", "0"], "--lowrank-energy: energy 0.0 is out of range; use 0 < energy <= 1"),
    (["--lowrank", "0.5", "--lowrank-energy", "0.9"], "--lowrank and --lowrank-energy exclude each other"),
    (["--lowrank-layer-ranks", "fc1"], "--lowrank-layer-ranks 'fc1': expected NAME=RANK"),
    (["--lowrank-layer-ranks", "fc1=-3"], "--lowrank-layer-ranks fc1: rank -3 must be a whole number >= 0"),
    (["--lowrank-layer-ranks", "nope=4"], "--lowrank-layer-ranks: model 'digits_cnn' has no layer 'nope'"),
    (["--lowrank-layer-ranks", "pool=4"], "--lowrank-layer-ranks: layer 'pool' cannot be factorized: it has no kernel"),
    (["--lowrank-conv", "spatial"], "--lowrank-conv needs --lowrank RATIO or --lowrank-energy E or"),
])
def test_bad_parameters_are_one_line_errors(cli, digits_model, digits_train, tmp_path, flags, message):
    out = tmp_path / "never.keras"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, "--epochs", 1, *flags)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == f"edgekit: error: {_line(result.output)}"
    assert message in result.output and "Traceback" not in result.output and not out.exists()


def _line(output: str) -> str:
    return output.strip().splitlines()[-1].removeprefix("edgekit: error: ")


def test_a_bad_ratio_in_a_real_process_is_one_line(digits_model, digits_train, tmp_path):
    from helpers.support import run_edgekit

    proc = run_edgekit("optimize", digits_model, "-o", tmp_path / "o.keras", "--train-data", digits_train,
                       "--lowrank", "1.5")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "edgekit: error: --lowrank: ratio 1.5 is out of range; use 0 < ratio <= 1 "
        "(the fraction of each factorized layer's kernel parameters to keep)")


@pytest.mark.slow
def test_factorized_model_saves_loads_and_converts_to_full_int8(cli, digits_model, digits_train, digits_val,
                                                                tmp_path):
    from edgekit.evaluate import evaluate_model
    from edgekit.inspect import is_full_integer, read_tflite

    out, tflite = tmp_path / "lowrank.keras", tmp_path / "lowrank.tflite"
    result = cli("optimize", digits_model, "-o", out, "--train-data", digits_train, "--val-data", digits_val,
                 "--epochs", 1, "--lowrank", 0.5, "--lowrank-conv", "spatial", "--tflite", tflite, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    report = summary["stages"][0]["report"]
    rows = {row["layer"]: row for row in report["layers"]}
    assert rows["fc1"]["params_before"] == 131_200 and rows["fc1"]["params_after"] == 64_640
    assert rows["conv2"]["method"] == "spatial" and rows["logits"]["method"] is None
    assert report["params_after"] == summary["params"]["total"] < report["params_before"]
    loaded = keras.saving.load_model(out)  # plain Keras layers: no custom objects needed
    assert {type(layer).__name__ for layer in loaded.layers} <= {"InputLayer", "Conv2D", "MaxPooling2D",
                                                                  "Flatten", "Dense"}
    assert loaded.get_layer("conv2_vertical").kernel.shape == (3, 1, 32, rows["conv2"]["ranks"][0])
    model = read_tflite(tflite)
    assert is_full_integer(model)
    opcodes = [op.opcode for op in model.operators]
    assert opcodes.count("CONV_2D") == 4 and opcodes.count("FULLY_CONNECTED") == 3  # each factor is an op
    int8 = evaluate_model(tflite, digits_val).accuracy
    assert int8 >= summary["accuracy_after"] - 0.02 and int8 >= 0.9


@pytest.mark.slow
def test_lowrank_then_pruning_from_edgekit_toml(tmp_path, trained, digits_train, digits_val):
    from edgekit.data import load_dataset
    from edgekit.pipeline.config import load_config
    from edgekit.pipeline.steps import optimize_model

    path = tmp_path / "edgekit.toml"
    path.write_text(f"""[model]
source = "builtin:digits_cnn"

[data]
train = "{digits_train}"
val = "{digits_val}"

[finetune]
epochs = 1

[[optimize]]
step = "lowrank"
energy = 0.9
layer_ranks = {{ conv1 = 0 }}

[[optimize]]
step = "prune"
sparsity = 0.5
schedule = "constant"
""")
    config = load_config(path)
    assert [step.step for step in config.optimize] == ["lowrank", "prune"]
    train, val = (load_dataset(spec, require_labels=True) for spec in (digits_train, digits_val))
    model, summary = optimize_model(trained, config.optimize, config.finetune, train, val)
    layers = {row["layer"]: row for row in summary["layers"]}
    assert {"fc1_reduce", "fc1", "conv2"} <= set(layers) and "conv1_reduce" not in layers
    assert all(row["sparsity"] >= 0.49 for row in layers.values())  # pruning kept working on the factors
    assert summary["stages"][0]["report"]["factorized_params_after"] < summary["stages"][0]["report"][
        "factorized_params_before"]
    assert summary["accuracy_after"] >= 0.8

    bad = path.read_text().replace("energy = 0.9", "energy = 0.9\nratio = 0.5")
    path.write_text(bad)
    with pytest.raises(Exception, match=r"edgekit.toml:\d+: .*exclude each other"):
        load_config(path)
