"""Under --max-drop the --tflite file is held to the budget too: a file over it is not written (exit 22), the
optimized .keras within it stays; a file within it says its drop from the source."""

from __future__ import annotations

import json

import keras
import pytest

from edgekit.errors import BudgetNotMet
from edgekit.optimize.budget import Budget
from edgekit.optimize.tflite_output import _file_within_budget


@pytest.fixture(scope="module")
def untrained_tflite(tmp_path_factory, digits_model):
    """The digits CNN's architecture with fresh weights, as a .tflite: about chance on the digits."""
    from edgekit.convert import convert_model

    keras.utils.set_random_seed(0)
    model = keras.models.clone_model(keras.saving.load_model(digits_model))
    path = tmp_path_factory.mktemp("untrained") / "untrained.tflite"
    path.write_bytes(convert_model(model, quantize="none"))
    return path


def test_a_file_over_the_budget_is_refused_naming_its_drop(digits_model, digits_val, untrained_tflite):
    with pytest.raises(BudgetNotMet) as refused:
        _file_within_budget(digits_model, digits_model, untrained_tflite, "out.tflite", Budget(1.0),
                            val=str(digits_val), train=None, seed=0)
    message = str(refused.value)
    assert message.startswith("out.tflite: accuracy ") and "over --max-drop 1 on" in message
    assert "is within it and is kept" in message and "--auto-mixed 1" in message


def test_optimize_tflite_within_the_budget_says_its_drop(cli, digits_model, digits_train, digits_val, tmp_path):
    result = cli("optimize", digits_model, "-o", tmp_path / "p.keras", "--prune", 0.2, "--epochs", 1,
                 "--train-data", digits_train, "--val-data", digits_val, "--max-drop", 5,
                 "--tflite", tmp_path / "p.tflite", "--json")
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)["tflite"]
    assert (tmp_path / "p.tflite").is_file() and written["output"] == str(tmp_path / "p.tflite")
    assert written["budget_drop"]["points"] <= 5 and written["budget_drop"]["line"].startswith("accuracy ")
    assert not list(tmp_path.glob(".p.tflite.*"))  # no temporary file left
