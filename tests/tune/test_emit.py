"""The emitted edgekit.toml names its files relative to its own folder, so a study folder can be committed
and built from any checkout; the end-to-end rebuild after a move is in test_study.py."""

from __future__ import annotations

import shutil
import tomllib

from edgekit.pipeline.config import load_config
from edgekit.tune.emit import build_toml

BASE = """
[model]
source = "models/digits.keras"

[data]
train = "data/train.npz"
val = "/opt/shared-datasets/digits_val.npz"
calibration = "data/calibration.npz"
"""


def test_paths_are_relative_to_the_emitted_file_and_follow_a_moved_project(tmp_path):
    project = tmp_path / "project"
    (project / "tuned").mkdir(parents=True)
    (project / "models").mkdir()
    (project / "models" / "student.keras").write_bytes(b"x")  # a stage's file must exist when the file loads
    (project / "edgekit.toml").write_text(BASE)
    config = load_config(project / "edgekit.toml")
    steps = [{"step": "distill", "student": "models/student.keras"}]
    text = build_toml(config, steps, {"quantize": "int8"}, "emitted", folder=project / "tuned")
    tables = tomllib.loads(text)
    assert tables["model"]["source"] == "../models/digits.keras"
    assert (tables["data"]["train"], tables["data"]["calibration"]) == ("../data/train.npz", "../data/calibration.npz")
    assert tables["optimize"][0]["student"] == "../models/student.keras"
    # a file outside the project stays absolute: a relative path to it would break when the project moves
    assert tables["data"]["val"] == "/opt/shared-datasets/digits_val.npz"
    assert str(tmp_path) not in text

    (project / "tuned" / "edgekit.toml").write_text(text)
    moved = shutil.move(project, tmp_path / "checkout")
    emitted = load_config(tmp_path / "checkout" / "tuned" / "edgekit.toml")
    assert emitted.resolve(emitted.data.train) == str(moved / "tuned" / ".." / "data" / "train.npz")
    assert emitted.resolve(emitted.model.source) == str(moved / "tuned" / ".." / "models" / "digits.keras")
    assert emitted.optimize_steps()[0].params["student"] == str(moved / "tuned" / ".." / "models" / "student.keras")


def test_a_file_beside_the_project_stays_absolute_and_so_does_a_folder_outside_it(tmp_path):
    """They share a parent with the study (tmp_path) but not the project: ../.. paths would break on a move."""
    project = tmp_path / "project"
    (project / "tuned").mkdir(parents=True)
    (project / "edgekit.toml").write_text(BASE.replace("/opt/shared-datasets", str(tmp_path / "datasets")))
    config = load_config(project / "edgekit.toml")
    inside = tomllib.loads(build_toml(config, [], {"quantize": "int8"}, "emitted", folder=project / "tuned"))
    assert inside["data"]["val"] == str(tmp_path / "datasets" / "digits_val.npz")
    assert inside["data"]["train"] == "../data/train.npz"
    outside = tomllib.loads(build_toml(config, [], {"quantize": "int8"}, "emitted", folder=tmp_path / "elsewhere"))
    assert outside["data"]["train"] == str(project / "data" / "train.npz")
