"""``[finetune] max_drop`` / ``max_epochs`` in an edgekit.toml: passed to the engine as its Budget, bad values
named with file:line."""

from __future__ import annotations

import pytest

from edgekit.errors import ConfigError
from edgekit.optimize.budget import Budget
from edgekit.pipeline.config import load_config

BODY = """[data]
train = "train.npz"
val = "val.npz"

[[optimize]]
step = "prune"
sparsity = 0.5

[finetune]
epochs = 2
{finetune}
"""


def _config(tmp_path, finetune: str):
    path = tmp_path / "edgekit.toml"
    path.write_text(BODY.format(finetune=finetune))
    return load_config(path)


def test_max_drop_becomes_the_engines_budget(tmp_path):
    assert _config(tmp_path, "max_drop = 1.5\nmax_epochs = 6").finetune.budget() == Budget(1.5, 6)
    assert _config(tmp_path, "").finetune.budget() is None


@pytest.mark.parametrize("keys, line, message", [
    ("max_drop = -1", 11, "[finetune] max_drop: --max-drop must be >= 0"),
    ("max_epochs = 4", 11, "[finetune] max_epochs: --max-epochs (max_epochs) caps the fine-tuning"),
    ("max_drop = 1\nmax_epochs = 0", 12, "[finetune] max_epochs: --max-epochs must be >= 1"),
])
def test_bad_budget_keys_are_named_with_their_line(tmp_path, keys, line, message):
    with pytest.raises(ConfigError) as error:
        _config(tmp_path, keys)
    assert f"edgekit.toml:{line}: {message}" in str(error.value)
