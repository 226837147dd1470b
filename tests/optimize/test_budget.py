"""The accuracy budget (--max-drop) and the fine-tuning defaults, on a user's BatchNorm/softmax CNN."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from helpers.bn_cnn import bn_softmax_cnn

RECIPE = ("--prune", 0.8, "--cluster", 16, "--cluster-preserve-sparsity")


@pytest.fixture(scope="module")
def user_cnn(tmp_path_factory, digits_train):
    return bn_softmax_cnn(tmp_path_factory.mktemp("bn") / "mycnn.keras", digits_train)


def test_defaults_do_not_wreck_the_bn_softmax_cnn(cli, user_cnn, digits_train, digits_val, tmp_path):
    """The recipe that left this CNN at 37% (Adam 1e-4, stale BatchNorm statistics) ends within 2 points."""
    result = cli("optimize", user_cnn, "-o", tmp_path / "small.keras", "--train-data", digits_train,
                 "--val-data", digits_val, *RECIPE, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accuracy_after"] >= summary["accuracy_before"] - 0.02, summary["metrics_after"]
    assert all(row["sparsity"] >= 0.79 and row["unique_values"] <= 17 for row in summary["layers"])
    assert "learning rate 0.001 (the model's saved Adam optimizer)" in result.stderr


def test_max_drop_1_ends_within_1_point_or_names_its_attempts(cli, user_cnn, digits_train, digits_val, tmp_path):
    out = tmp_path / "budget.keras"
    result = cli("optimize", user_cnn, "-o", out, "--train-data", digits_train, "--val-data", digits_val,
                 *RECIPE, "--epochs", 2, "--max-drop", 1, "--json")
    if result.exit_code == 22:
        assert "cannot meet --max-drop 1" in result.stderr and "tried" in result.stderr and not out.exists()
        return
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accuracy_after"] >= summary["accuracy_before"] - 0.01
    assert summary["validation"] == str(digits_val)
    assert summary["attempts"][0]["stage"] == "prune" and summary["attempts"][-1]["met"]
    model = keras.saving.load_model(out)
    chosen = [a for a in summary["attempts"] if a["stage"] == "prune" and a["met"]][-1]["setting"]["sparsity"]
    assert np.mean(model.get_layer("fc1").kernel.numpy() == 0) == pytest.approx(chosen, abs=0.01)


def test_backoff_bisects_toward_none_and_keeps_the_strongest_setting_that_meets(user_cnn, digits_train, digits_val):
    from edgekit.convert import load_keras_model
    from edgekit.keras_file import saved_compile_config
    from edgekit.optimize.budget import BACKOFF_STEPS, Budget
    from edgekit.optimize.engine import Recipe, optimize
    from edgekit.optimize.file import labelled
    from edgekit.optimize.pruning.config import PruneConfig
    from edgekit.optimize.stages import Step
    from edgekit.optimize.trainer import Finetune

    model = load_keras_model(user_cnn)
    train, val = labelled(model, str(digits_train)), labelled(model, str(digits_val))
    result = optimize(model, Recipe([Step("prune", PruneConfig(0.98))], Finetune(epochs=1)), train, val,
                      compile_config=saved_compile_config(user_cnn), budget=Budget(2.0, max_epochs=1))
    attempts = result.summary["attempts"]
    tried = [a["setting"]["sparsity"] for a in attempts]
    assert tried[0] == 0.98 and not attempts[0]["met"] and len(tried) == 1 + BACKOFF_STEPS
    failing, passing = 0.98, 0.0
    for attempt in attempts[1:]:  # each setting halfway between the strongest failure and the weakest success
        assert attempt["setting"]["sparsity"] == pytest.approx((failing + passing) / 2, abs=1e-4)
        assert attempt["drop"] == pytest.approx(100 * (result.summary["accuracy_before"]
                                                       - attempt["metrics"]["accuracy"]), abs=1e-3)
        failing, passing = (failing, attempt["setting"]["sparsity"]) if attempt["met"] else (
            attempt["setting"]["sparsity"], passing)
    met = [a["setting"]["sparsity"] for a in attempts if a["met"]]
    assert met, attempts
    kernel = result.model.get_layer("fc1").kernel.numpy()
    assert np.mean(kernel == 0) == pytest.approx(max(met), abs=0.01)
    assert result.summary["accuracy_after"] >= result.summary["accuracy_before"] - 0.02


def test_nothing_meets_the_budget_exits_22_naming_the_attempts(cli, user_cnn, digits_train, digits_val, tmp_path):
    out = tmp_path / "never.keras"
    result = cli("optimize", user_cnn, "-o", out, "--train-data", digits_train, "--val-data", digits_val,
                 "--cluster", 2, "--cluster-int4-grid", "--epochs", 1, "--max-drop", 0, "--max-epochs", 1)
    assert result.exit_code == 22, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("edgekit: error:")]
    assert len(error) == 1 and "stage 'cluster' cannot meet --max-drop 0" in error[0]
    assert "int4_grid fixes its clusters" in error[0] and "tried clusters 2: drop" in error[0]
    assert not out.exists()


def test_max_drop_without_validation_data_holds_out_a_named_split(cli, user_cnn, digits_train, tmp_path):
    result = cli("optimize", user_cnn, "-o", tmp_path / "held.keras", "--train-data", digits_train,
                 "--prune", 0.5, "--epochs", 1, "--max-drop", 5)
    assert result.exit_code == 0, result.output
    samples = round(len(np.load(digits_train)["y"]) * 0.2)
    name = f"held-out 20% of {digits_train} ({samples} samples)"
    assert f"validation: {name}, for the accuracy budget" in result.stderr
    assert f"budget: max drop 5 on {name}" in result.stdout
    assert "attempt prune sparsity 0.5: 1 epoch(s), drop" in result.stdout


def test_max_epochs_needs_max_drop(cli, user_cnn, digits_train, tmp_path):
    result = cli("optimize", user_cnn, "-o", tmp_path / "x.keras", "--train-data", digits_train,
                 "--prune", 0.5, "--max-epochs", 3)
    assert result.exit_code == 2 and "give --max-drop (max_drop) too" in result.output
