"""``edgekit tune MODEL.tflite``: the post-training space of a float .tflite, searched with AI Edge Quantizer trials.

Real parts: the zoo's float digits CNN, AEQ, LiteRT, the agent's benchmark, Optuna, real
``edgekit`` processes -- run with TensorFlow and Keras made unimportable, as in an install
without them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.support import ROOT

pytest.importorskip("ai_edge_quantizer")

NO_TENSORFLOW = """\
import sys

class _NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            raise ImportError(f"{name} is not installed (blocked by the test)")

sys.meta_path.insert(0, _NoTensorFlow())
"""


def edgekit_without_tensorflow(tmp_path: Path, *args) -> subprocess.CompletedProcess:
    """``edgekit ARGS`` in a process (and its trial workers) where TensorFlow and Keras cannot be imported."""
    blocker = tmp_path / "site"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(NO_TENSORFLOW)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "edgekit", *map(str, args)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_tflite_is_tuned_without_tensorflow_and_the_chosen_recipe_rebuilds(zoo, digits_val, digits_train, tmp_path):
    """Slow (84 s measured on the shared 2-core machine): four trials, each a worker process that imports AEQ,
    converts, evaluates and benchmarks (50 runs), the ops ranked once for keep_float, then a second process
    rebuilds the chosen edgekit.toml."""
    out = tmp_path / "tune"
    proc = edgekit_without_tensorflow(tmp_path, "tune", zoo("float_digits"), "--val-data", digits_val,
                                      "--calibration", digits_train, "--trials", "4", "--min-accuracy", "0.8",
                                      "--space", "convert.quantize=[\"int8\", \"int16x8\"]", "--out", out, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    document = json.loads(proc.stdout)
    assert document["trials_done"] == 4 and document["chosen"] is not None
    names = {"convert.quantize", "convert.weights", "convert.per_tensor", "convert.keep_float", "convert.storage"}
    for trial in document["trials"]:
        assert set(trial["params"]) == names and trial["params"]["convert.quantize"] in ("int8", "int16x8")
    assert document["trials"][0]["params"]["convert.quantize"] == "int8"   # the first seed: full int8
    assert (out / "model.tflite").is_file() and not (out / "model.keras").exists()
    assert "keras" not in document["files"]
    chosen = next(t for t in document["trials"] if t["number"] == document["chosen"])
    assert chosen["feasible"] and chosen["result"]["accuracy"] >= 0.8
    assert f"chose trial {chosen['number']}: " in proc.stderr

    from edgekit.pipeline.config import load_config

    config = load_config(out / "edgekit.toml")
    assert config.is_tflite and config.convert.quantize == chosen["params"]["convert.quantize"]
    assert len(config.convert.keep_float or ()) == chosen["params"]["convert.keep_float"]
    rebuilt = edgekit_without_tensorflow(tmp_path, "build", out / "edgekit.toml", "--out", tmp_path / "b")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    assert digest(tmp_path / "b" / "model.tflite") == digest(out / "model.tflite")


def _space(zoo_path: Path, **overrides):
    from edgekit.tune.tflite_space import tflite_space

    class Config:   # what tflite_space reads of a BuildConfig
        model = type("Model", (), {"source": str(zoo_path)})

        @staticmethod
        def resolve(spec: str) -> str:
            return spec

    space = tflite_space(Config())
    return space.narrowed(overrides, lambda name: f"--space {name}: ") if overrides else space


class _Draw:
    """A sampler that takes the last choice (and the top of every range)."""

    def suggest_categorical(self, name, choices):
        return choices[-1]

    def suggest_int(self, name, low, high, log=False):
        return high

    def suggest_float(self, name, low, high, log=False):
        return high


def test_the_space_draws_only_what_the_aeq_registry_offers(zoo):
    from edgekit.convert.tflite_source.recipes import find_mode

    space = _space(zoo("float_digits"))
    assert space.dims["convert.keep_float"].param.high == 3   # 4 ops read weights; at most 3 stay float
    params = space.sample(_Draw())   # quantize "none": weight-only, whose weights are drawn
    assert find_mode(params["convert.quantize"], params["convert.weights"]) is not None
    assert params["convert.storage"] == "int8"    # int4 storage re-stores full-int8 files only
    int16 = _space(zoo("float_digits"), **{"convert.quantize": "int16x8"}).sample(_Draw())
    assert int16["convert.weights"] == "int8"     # the registry offers int16x8 with int8 weights only
    full = _space(zoo("float_digits"), **{"convert.quantize": "int8", "convert.weights": "int8"}).sample(_Draw())
    assert full["convert.storage"] == "int4"
    steps, convert = space.recipe({**full, "convert.keep_float": 0})
    assert steps == [] and convert == {"quantize": "int8", "weights": "int8", "per_tensor": True, "keep_float": [],
                                       "storage": "int4"}
    seeds = _space(zoo("float_digits"), **{"convert.quantize": "int8"}).seeds({})
    assert [s["convert.weights"] for s in seeds] == ["int8", "int4"]


def test_a_tflite_space_names_its_own_parameters_in_errors(zoo):
    from edgekit.errors import UsageError

    with pytest.raises(UsageError, match=r"unknown tune parameter 'prune.sparsity' \(known: convert.quantize, "):
        _space(zoo("float_digits"), **{"prune.sparsity": 0.5})
    with pytest.raises(UsageError, match="convert.storage' takes int8, int4"):
        _space(zoo("float_digits"), **{"convert.storage": "sparse"})


@pytest.mark.parametrize("args, message", [
    (("--val-data", "V", "--calibration", "V", "--train-data", "V"),
     "--train-data: {src} is a .tflite file, which is converted, not trained"),
    (("--val-data", "V", "--min-accuracy", "0.5"), "tuning {src} needs --val-data (accuracy) and --calibration"),
    (("--val-data", "V", "--calibration", "V"), "needs an accuracy budget: --min-accuracy A"),
])
def test_tflite_source_refusals_are_one_line(cli, zoo, digits_val, tmp_path, args, message):
    src = zoo("float_digits")
    result = cli("tune", src, *[digits_val if a == "V" else a for a in args], "--out", tmp_path / "o")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgekit: error: ") and message.format(src=src) in lines[0]
    assert not (tmp_path / "o").exists()
