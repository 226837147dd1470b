"""No silent collapse: a command that changes a model ends with the drop and warns past 5 points."""

from __future__ import annotations

import json
import re

import pytest

from helpers.bn_cnn import bn_softmax_cnn
from helpers.support import run_edgekit

# A collapsing setting of the user's command: 80% pruning and 16 clusters, two epochs each, at a learning rate
# far below the model's own (the defaults now take the model's saved rate, which recovers).
COLLAPSE = ("--prune", "0.8", "--cluster", "16", "--cluster-preserve-sparsity", "--epochs", "2",
            "--learning-rate", "1e-5")


@pytest.fixture(scope="module")
def briefly_trained_cnn(tmp_path_factory, digits_train):
    """The user's model: Conv-BatchNorm-ReLU, Conv, MaxPool, Dense, Dropout, softmax; 3 epochs on digits."""
    return bn_softmax_cnn(tmp_path_factory.mktemp("issue") / "mycnn.keras", digits_train)


def test_a_collapse_ends_with_the_drop_and_one_warning(briefly_trained_cnn, digits_train, digits_val, tmp_path):
    """One run (--json, with the --tflite conversion); the human summary is rendered from its JSON."""
    from edgekit.cli.optimize import render

    done = run_edgekit("optimize", briefly_trained_cnn, "--train-data", digits_train, "--val-data", digits_val,
                       *COLLAPSE, "-o", tmp_path / "o.keras", "--tflite", tmp_path / "o.tflite", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    last = render(summary).splitlines()[-1]
    parsed = re.fullmatch(r"accuracy (\d+\.\d\d)% → (\d+\.\d\d)% \(−(\d+\.\d\d) pt\)", last)
    assert parsed, last
    before, after, points = (float(v) for v in parsed.groups())
    assert before - after > 5 and points == pytest.approx(before - after, abs=0.011)  # the setting collapses
    warnings = [line for line in done.stderr.splitlines() if line.startswith("edgekit: warning: ")]
    assert len(warnings) == 1, done.stderr
    assert f"accuracy dropped {points:.2f} pt (more than 5 pt)" in warnings[0]
    assert all(fix in warnings[0] for fix in ("--epochs", "--learning-rate", "--prune / --cluster", "--max-drop"))

    drop = summary["drop"]
    assert drop["metric"] == "accuracy" and drop["unit"] == "pt" and drop["line"] == last
    assert drop["points"] == pytest.approx(100 * (summary["accuracy_before"] - summary["accuracy_after"]), abs=1e-3)
    assert summary["warning"] == warnings[0].removeprefix("edgekit: warning: ")


def test_without_validation_data_the_last_line_says_so(briefly_trained_cnn, digits_train, tmp_path):
    done = run_edgekit("optimize", briefly_trained_cnn, "--train-data", digits_train, "-o", tmp_path / "o.keras",
                       "--prune", "0.5", "--epochs", "1", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["drop"]["points"] is None and summary["warning"] is None
    assert summary["drop"]["line"] == "accuracy not measured: no --val-data given"
    assert "edgekit: warning" not in done.stderr
