"""The optimize engine: the stage registry, order rules, and training with the model's own loss.

Regression and two-headed models go through prune + cluster + full int8 with the losses they
were compiled with; an uncompiled one takes ``--loss``. Every figure is checked in the
.tflite the user would ship, on LiteRT.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass

import keras
import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.optimize import stages
from edgekit.optimize.stages import NoBackoff, Option, Stage, Step, check_order, stage_names, steps_from_flags


def test_builtin_stages_in_their_command_line_order():
    """The order is the registry's (BUILTIN_STAGES), written nowhere else."""
    declared = tuple(importlib.import_module(module).STAGE.name for module in stages.BUILTIN_STAGES)
    assert stage_names()[:len(declared)] == declared and len(set(declared)) == len(declared) > 1


@pytest.mark.parametrize("names, message", [
    (["qat", "prune"], "'qat' must be the last stage, but 'prune' comes after it"),
    (["prune", "cluster", "prune"], "'prune' is given twice"),
    (["prune", "sharpen"], f"unknown optimize stage 'sharpen' (known: {', '.join(stage_names())})"),
    (["prune", "ternary", "cluster"], "stages 'ternary' and 'cluster' cannot be combined"),
    (["cluster", "binary"], "stages 'cluster' and 'binary' cannot be combined"),
    (["prune", "binary"], "stages 'prune' and 'binary' cannot be combined"),
    (["ternary", "qat"], "stages 'ternary' and 'qat' cannot be combined"),
])
def test_order_rules(names, message):
    with pytest.raises(UsageError) as caught:
        check_order(names)
    assert message in str(caught.value)


def test_flags_become_steps_in_registry_order():
    steps = steps_from_flags({"--qat": True, "--cluster": 8, "--prune": 0.5, "--prune-schedule": "constant",
                              "--filters-criterion": None})
    assert [s.stage for s in steps] == ["prune", "cluster", "qat"]
    assert steps[0].config.sparsity == 0.5 and steps[0].config.schedule == "constant"
    assert steps[1].config.clusters == 8
    with pytest.raises(UsageError, match="--filters-criterion needs --filters RATIO or "
                                         "--filters-layer-ratios NAME=RATIO"):
        steps_from_flags({"--filters-criterion": "l2"})


@dataclass
class HalveConfig:
    """A plug-in stage's settings: scale every Dense kernel by ``factor``."""

    factor: float = 0.5


def halve(model, config: HalveConfig, trainer):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            layer.kernel.assign(layer.kernel * config.factor)
    trainer.progress(f"halve: x{config.factor}")
    return model


@pytest.fixture
def plugin_stage(monkeypatch):
    """A stage registered the way a new one is: a declaration with its config, flag and apply."""
    stages.stages()
    stage = Stage("halve", HalveConfig, halve, "scale Dense kernels", 'step = "halve"',
                  options=(Option("factor", "Scale Dense kernels.", enables=True, main=True),),
                  backoff=NoBackoff("a test stage: its factor is no strength"))
    monkeypatch.setitem(stages._REGISTRY, "halve", stage)
    return stage


def test_a_registered_stage_runs_in_the_order_given(plugin_stage, digits, trained):
    from edgekit.data import Dataset
    from edgekit.optimize.clustering.config import ClusterConfig
    from edgekit.optimize.engine import Recipe, optimize
    from edgekit.optimize.trainer import Finetune

    x, y = digits[0][:256], digits[1][:256]
    data = Dataset(x=x, y=y, source="digits")
    lines = []
    recipe = Recipe([Step("cluster", ClusterConfig(clusters=4)), Step("halve", HalveConfig(0.5))],
                    Finetune(epochs=1))
    result = optimize(trained, recipe, data, data, progress=lines.append)
    assert [s["stage"] for s in result.summary["stages"]] == ["cluster", "halve"]
    assert "halve: x0.5" in lines
    # halving after clustering keeps 4 values per kernel, and they are the halved centroids
    fc1 = result.model.get_layer("fc1").kernel.numpy()
    assert np.unique(fc1).size <= 4
    assert steps_from_flags({"--halve": 0.25})[0] == Step("halve", HalveConfig(0.25))


def _regression_model(compiled: bool) -> keras.Model:
    inputs = keras.Input((16,))
    hidden = keras.layers.Dense(128, activation="relu", name="hidden")(inputs)
    hidden = keras.layers.Dense(64, activation="relu", name="hidden2")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1, name="value")(hidden))
    if compiled:
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _regression_data(tmp_path, n=512):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 16)).astype(np.float32)
    y = (np.sin(x[:, :4]).sum(axis=1, keepdims=True) + 0.5 * x[:, 4:5]).astype(np.float32)
    path = tmp_path / "regression.npz"
    np.savez(path, x=x, y=y)
    return path, x, y


def _check_int8_file(path, min_sparsity: float, max_values: int) -> None:
    """The big kernels in the shipped .tflite kept their zeros and at most ``max_values`` values per channel."""
    from edgekit.inspect import inspect_model

    report = inspect_model(path)
    assert report.is_full_integer
    kernels = [w for w in report.weights if w.is_kernel and w.elements >= 1024]
    assert kernels
    for kernel in kernels:
        assert kernel.zero_fraction >= min_sparsity, kernel.name
        assert kernel.unique_per_channel_max <= max_values, kernel.name


@pytest.mark.slow
def test_regression_model_keeps_its_compiled_loss(cli, tmp_path):
    data, x, y = _regression_data(tmp_path)
    keras.utils.set_random_seed(0)
    model = _regression_model(compiled=True)
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    source, out, tflite = tmp_path / "reg.keras", tmp_path / "reg_opt.keras", tmp_path / "reg.tflite"
    model.save(source)
    result = cli("optimize", source, "-o", out, "--train-data", data, "--val-data", data, "--epochs", 3,
                 "--prune", 0.5, "--cluster", 16, "--cluster-preserve-sparsity", "--tflite", tflite, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["tasks"] == ["regression"] and summary["accuracy_after"] is None
    variance = float(np.var(y))
    assert summary["metrics_after"]["task"] == "regression"
    assert summary["metrics_after"]["mse"] < 0.3 * variance, (summary["metrics_after"], variance)
    assert "mae" in result.stderr  # the epochs report the model's own metric
    _check_int8_file(tflite, 0.45, 17)
    evaluated = cli("eval", tflite, "--data", data, "--loss", "mse", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["metrics"]["mse"] < 0.3 * variance


def test_uncompiled_model_takes_loss_from_the_command_line(cli, tmp_path):
    data, x, y = _regression_data(tmp_path, n=256)
    source = tmp_path / "bare.keras"
    _regression_model(compiled=False).save(source)
    result = cli("optimize", source, "-o", tmp_path / "o.keras", "--train-data", data, "--val-data", data,
                 "--epochs", 2, "--prune", 0.5, "--loss", "mae", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["tasks"] == ["regression"]
    assert "loss" in result.stderr
    too_many = cli("optimize", source, "-o", tmp_path / "p.keras", "--train-data", data, "--prune", 0.5,
                   "--loss", "mae", "--loss", "mse")
    assert too_many.exit_code == 2 and "--loss given 2 times for a model with 1 outputs" in too_many.output


@pytest.mark.slow
def test_two_headed_model_trains_each_head_with_its_loss(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 16)).astype(np.float32)
    classes = (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0).astype(np.int64)
    value = (x[:, 2] * 2 + x[:, 3]).astype(np.float32)[:, None]
    data = tmp_path / "two.npz"
    np.savez(data, x=x, y_cls=classes, y_reg=value)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16,))
    hidden = keras.layers.Dense(128, activation="relu", name="trunk")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(4, name="cls")(hidden), keras.layers.Dense(1, name="reg")(hidden)])
    model.compile(optimizer="adam", loss={"cls": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                          "reg": "mse"}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    model.fit(x, [classes, value], epochs=20, batch_size=32, verbose=0)
    source, tflite = tmp_path / "two.keras", tmp_path / "two.tflite"
    model.save(source)
    result = cli("optimize", source, "-o", tmp_path / "two_opt.keras", "--train-data", data, "--val-data", data,
                 "--epochs", 2, "--prune", 0.5, "--cluster", 16, "--cluster-preserve-sparsity", "--tflite", tflite,
                 "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["tasks"] == ["classification", "regression"]
    after = summary["metrics_after"]["outputs"]
    assert after["cls"]["accuracy"] >= 0.85, after
    assert after["reg"]["mse"] < 0.2 * float(np.var(value)), after
    _check_int8_file(tflite, 0.45, 17)
    shipped = cli("eval", tflite, "--data", data, "--json")  # the .tflite keeps the heads' names
    assert shipped.exit_code == 0, shipped.output
    heads = json.loads(shipped.stdout)["metrics"]["outputs"]
    assert heads["cls"]["accuracy"] >= after["cls"]["accuracy"] - 0.03
    assert heads["reg"]["mse"] < 0.2 * float(np.var(value)), heads
    text = cli("optimize", source, "-o", tmp_path / "two_b.keras", "--train-data", data, "--val-data", data,
               "--epochs", 1, "--prune", 0.3)
    assert text.exit_code == 0, text.output
    assert "cls accuracy:" in text.stdout and "reg mse:" in text.stdout


def test_labels_must_cover_every_head(cli, tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, [keras.layers.Dense(3, name="a")(inputs), keras.layers.Dense(1, name="b")(inputs)])
    source, data = tmp_path / "m.keras", tmp_path / "d.npz"
    model.save(source)
    np.savez(data, x=np.zeros((8, 4), np.float32), y=np.zeros(8, np.int64))
    result = cli("optimize", source, "-o", tmp_path / "o.keras", "--train-data", data, "--prune", 0.5)
    assert result.exit_code == 2
    assert str(data) in result.output and "y_" in result.output
