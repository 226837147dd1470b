"""``pip install <wheel>`` then ``<wheel>[aeq]`` in one fresh venv: a float .tflite is quantized without TensorFlow.

The base install names the extra in one line; with it, AI Edge Quantizer (and what it pulls:
scipy, LiteRT's pinned build) quantizes, calibrates on the data bundled in the package and
verifies on LiteRT, and still no TensorFlow, Keras or TFLite Micro is installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers.install_support import BASE_PYTHON, clean_env, run
from test_base_install import models  # noqa: F401  (the fixture: a real float .tflite)

pytestmark = pytest.mark.slow

AEQ_LINE = ("edgekit: error: edgekit convert of a .tflite model needs AI Edge Quantizer, which this install "
            "lacks: pip install 'edgekit[aeq]'\n")


def test_the_aeq_extra_quantizes_a_tflite_without_tensorflow(wheel, models, tmp_path):  # noqa: F811
    import subprocess

    venv = tmp_path / "venv"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    env = clean_env(HOME=str(tmp_path / "home"))

    def pip_install(requirement: str) -> None:
        done = run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", requirement,
                   env=clean_env(), cwd=tmp_path, timeout=1200)
        assert done.returncode == 0, done.stderr

    def edgekit(*args):
        return run(venv / "bin" / "edgekit", *args, env=env, cwd=tmp_path, timeout=600)

    pip_install(str(wheel))
    refused = edgekit("convert", models["tflite"], "-o", tmp_path / "q.tflite", "--quantize", "dynamic")
    assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", AEQ_LINE)

    pip_install(f"{wheel}[aeq]")
    code = "import importlib.metadata as m; print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))"
    names = json.loads(run(venv / "bin" / "python", "-c", f"import json; {code}", env=env, cwd=tmp_path).stdout)
    assert "ai-edge-quantizer" in names and not {"tensorflow", "keras", "tflite-micro", "tf-keras"} & set(names)

    val = run(venv / "bin" / "python", "-c", "from edgekit.resources import digits_path; print(digits_path('val'))",
              env=env, cwd=tmp_path).stdout.strip()
    for out, args in (("dynamic.tflite", ("--quantize", "dynamic")), ("w4.tflite", ("--weights", "int4")),
                      ("int8.tflite", ("--quantize", "int8", "--calibration", val))):
        done = edgekit("convert", models["tflite"], "-o", tmp_path / out, *args, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["size_bytes"] == (tmp_path / out).stat().st_size < Path(models["tflite"]).stat().st_size
        assert report["verification"]["ok"] and report["quantized_tensors"] >= 2
    assert json.loads(done.stdout)["verification"]["accuracy"] is not None   # digits_val has labels
    inspected = json.loads(edgekit("inspect", tmp_path / "int8.tflite", "--json").stdout)
    assert inspected["op_histogram"]["FULLY_CONNECTED"] == 2
