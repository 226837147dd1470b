"""A study's trials train on while under its accuracy bound (edgekit.tune.reach), and the emitted
edgekit.toml carries that, so `edgekit build` of it trains the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.tune.api import load_config_text
from edgekit.tune.reach import EXTRA_EPOCHS_FACTOR, trained_to_the_bound


def _config(tmp_path: Path, budgets: str, finetune: str = ""):
    return load_config_text(tmp_path / "edgekit.toml", f"""[model]
source = "builtin:digits_cnn"
[data]
train = "train.npz"
val = "val.npz"
[finetune]
epochs = 3
{finetune}
[budgets]
{budgets}
""")


def test_a_min_accuracy_bound_is_the_floor_every_stage_trains_toward(tmp_path):
    finetune = trained_to_the_bound(_config(tmp_path, "min_accuracy = 0.98")).finetune
    assert (finetune.min_accuracy, finetune.max_drop, finetune.backoff) == (0.98, None, False)
    assert finetune.max_epochs == EXTRA_EPOCHS_FACTOR * 3
    assert finetune.budget().floor == 0.98


def test_a_drop_bound_is_the_budget_in_points(tmp_path):
    finetune = trained_to_the_bound(_config(tmp_path, "max_accuracy_drop = 0.015")).finetune
    assert finetune.max_drop == pytest.approx(1.5) and finetune.min_accuracy is None and not finetune.backoff


@pytest.mark.parametrize("budgets, finetune", [("max_size_kb = 40", ""),                    # no accuracy bound
                                               ("min_accuracy = 0.98", "max_drop = 0.5")])  # the user's own budget
def test_nothing_changes_without_a_bound_or_with_the_users_own_budget(tmp_path, budgets, finetune):
    config = _config(tmp_path, budgets, finetune)
    assert trained_to_the_bound(config) == config


def test_the_emitted_file_says_so_and_reads_back(tmp_path):
    from edgekit.tune.emit import build_toml

    config = trained_to_the_bound(_config(tmp_path, "min_accuracy = 0.98"))
    text = build_toml(config, [{"step": "prune", "sparsity": 0.5}], {}, "chosen")
    assert "min_accuracy = 0.98\nbackoff = false" in text
    again = load_config_text(tmp_path / "again.toml", text)
    assert again.finetune == config.finetune
