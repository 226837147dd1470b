"""``edgekit init`` then ``edgekit build``, as a new user types them: it builds, and says nothing from TensorFlow."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from edgekit.resources import digits_path
from helpers.quiet_support import noise_lines
from helpers.support import run_edgekit


@pytest.mark.slow
def test_init_then_build_works_out_of_the_box_and_quietly(tmp_path):
    env = {**os.environ, "EDGEKIT_RESULTS_DB": str(tmp_path / "results.db")}
    init = run_edgekit("init", cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr
    for name, split in (("train", "train"), ("val", "val")):  # the shipped digits set, where the template looks
        shipped, written = np.load(digits_path(split)), np.load(tmp_path / "data" / f"{name}.npz")
        assert np.array_equal(shipped["x"], written["x"]) and np.array_equal(shipped["y"], written["y"])
    build = run_edgekit("build", "--json", cwd=tmp_path, env=env)
    assert build.returncode == 0, build.stderr[-3000:]
    assert noise_lines(build.stderr) == [], build.stderr
    manifest = json.loads(build.stdout)
    assert manifest["passed"] and (tmp_path / "build" / "model.tflite").is_file()
    assert manifest["model"]["accuracy"] >= 0.90  # the template's own min_accuracy


def test_init_keeps_data_the_user_already_has(tmp_path, cli):
    own = tmp_path / "data" / "train.npz"
    own.parent.mkdir()
    np.savez(own, x=np.zeros((4, 8, 8, 1), np.float32), y=np.arange(4))
    result = cli("init", tmp_path / "edgekit.toml")
    assert result.exit_code == 0
    assert np.load(own)["x"].shape == (4, 8, 8, 1) and (tmp_path / "data" / "val.npz").is_file()
    assert f"{tmp_path / 'data' / 'val.npz'}" in result.stderr and "train.npz" not in result.stderr
