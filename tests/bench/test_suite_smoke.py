"""The benchmark suite (bench/suite.py) still runs end to end: one model, one technique, one seed, one epoch.

Over 20 s (47 s measured on a loaded 2-core machine): the suite drives the real command line, so the
run pays one TensorFlow start-up in a subprocess besides its one-epoch training and fine-tuning.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_measures_a_technique_through_the_command_line(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import suite

    suite.main(["--models", "bn_cnn", "--techniques", "prune", "--seeds", "3", "--modes", "default", "--quick",
                "--results", str(tmp_path)])
    document = json.loads((tmp_path / "suite.json").read_text())
    [row] = document["rows"]
    assert (row["model"], row["technique"], row["mode"], row["seed"]) == ("bn_cnn", "prune", "default", 3)
    assert row["exit"] == 0, row
    assert "--prune 0.8" in row["command"] and "--epochs 1" in row["command"]
    [floats] = document["floats"]
    before, after = floats["metrics"]["accuracy"], row["metrics"]["accuracy"]
    assert 0.1 < before <= 1 and 0 <= after <= 1 and row["gzip_bytes"] < row["bytes"]
    assert row["drop"] == round(100 * (before - after), 2)
    assert row["warned"] == (row["reported"]["drop_points"] > suite.WARN_POINTS)
    table = (tmp_path / "suite.md").read_text().splitlines()
    assert any(line.startswith("| bn_cnn | prune | 3 |") for line in table), table
    assert sys.modules["suite"].MODELS["bn_cnn"].epochs == 3  # --quick trains a copy, not the suite's model
