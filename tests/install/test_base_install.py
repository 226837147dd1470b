"""``pip install <wheel>`` (no extras) in a fresh venv: no TensorFlow, and the .tflite side of
edgekit works from it: inspect, eval, bench, history, export, deploy to a real sshd, the agent
by hand; what needs TensorFlow says in one line what to install.

Dependencies come from the package index pip is configured with (PyPI), so this proves the
base requirements resolve and suffice. pip is this test venv's (``pip --python``): the fresh
venv is made without one, which keeps the test fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.install_support import BASE_PYTHON, clean_env, run
from helpers.support import unavailable

pytestmark = [pytest.mark.slow, pytest.mark.ssh]

TF_LINE = "needs TensorFlow, which this install lacks (no module tensorflow, keras): pip install 'edgekit[tf]'"


@pytest.fixture(scope="module")
def base_venv(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("base") / "venv"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", wheel,
              env=clean_env(), cwd=venv, timeout=900)
    assert pip.returncode == 0, pip.stderr
    return venv


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A real (untrained) 8x8x1 -> 10 classifier as .keras and as float .tflite."""
    import keras
    import tensorflow as tf

    out = tmp_path_factory.mktemp("base-models")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    model.save(out / "m.keras")
    (out / "m.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return {"keras": out / "m.keras", "tflite": out / "m.tflite"}


def test_base_install_has_no_tensorflow(base_venv):
    code = "import importlib.metadata as m; print(sorted(d.metadata['Name'].lower() for d in m.distributions()))"
    names = json.loads(run(base_venv / "bin" / "python", "-c", code, env=clean_env(), cwd=base_venv)
                       .stdout.replace("'", '"'))
    assert "edgekit" in names and "ai-edge-litert" in names and "paramiko" in names
    assert not {"tensorflow", "keras", "tflite-micro", "tf-keras"} & set(names), names


def test_tflite_commands_work_and_tensorflow_commands_say_what_to_install(base_venv, models, tmp_path):
    env = clean_env(HOME=str(tmp_path / "home"))
    env.pop("XDG_DATA_HOME", None)
    bin_dir = base_venv / "bin"

    def edgekit(*args):
        return run(bin_dir / "edgekit", *args, env=env, cwd=tmp_path)

    val = run(bin_dir / "python", "-c", "from edgekit.resources import digits_path; print(digits_path('val'))",
              env=env, cwd=tmp_path).stdout.strip()
    assert Path(val).is_relative_to(base_venv)

    report = json.loads(edgekit("inspect", models["tflite"], "--json").stdout)
    assert report["op_histogram"]["FULLY_CONNECTED"] == 2
    scored = json.loads(edgekit("eval", models["tflite"], "--data", val, "--json").stdout)
    assert scored["kind"] == "tflite" and scored["samples"] == 359
    bench = json.loads(edgekit("bench", models["tflite"], "--runs", "5", "--warmup", "1", "--json").stdout)
    assert bench["runtime"]["name"] == "ai_edge_litert" and bench["timing_ms"]["runs"] == 5
    history = json.loads(edgekit("history", "--json").stdout)
    assert [run_["model_sha256"] for run_ in history] == [bench["model"]["sha256"]]
    exported = json.loads(edgekit("export", models["tflite"], "--out", tmp_path / "c", "--json").stdout)
    assert exported["arena"]["method"] == "planner" and (tmp_path / "c" / "model_data.cc").is_file()

    agent = run(bin_dir / "edgekit-agent", "bench", models["tflite"], "--runs", "3", env=env, cwd=tmp_path)
    assert agent.returncode == 0 and json.loads(agent.stdout)["ok"], agent.stdout + agent.stderr

    assert "convert" in edgekit("--help").stdout   # every command is listed, TensorFlow or not
    # a build of a Keras model needs TensorFlow (one of a float .tflite does not: AI Edge Quantizer)
    (tmp_path / "edgekit.toml").write_text(f'[data]\ntrain = "{val}"\nval = "{val}"\n')
    for command, args in (("convert", (models["keras"], "-o", tmp_path / "out.tflite")), ("demo", ()),
                          ("eval", (models["keras"], "--data", val)), ("build", ()),
                          ("optimize", (models["keras"], "-o", tmp_path / "o.keras", "--train-data", val)),
                          ("sensitivity", (models["keras"], "--data", val, "--calibration", val))):
        refused = edgekit(command, *args)
        assert refused.returncode == 2 and refused.stdout == ""
        what = "edgekit eval of a Keras model" if command == "eval" else f"edgekit {command}"
        assert refused.stderr == f"edgekit: error: {what} {TF_LINE}\n"
    assert not (tmp_path / "out.tflite").exists() and not (tmp_path / "edgekit-demo").exists()


def test_deploy_from_the_base_install(base_venv, models, tmp_path):
    from remote.remote_support import SSHD, keygen, start_sshd

    if not SSHD.exists() or os.geteuid() != 0:
        unavailable("needs /usr/sbin/sshd (openssh-server, scripts/system-packages.txt) and root")
    key = keygen(tmp_path / "id_ed25519", "edgekit-base-install")
    (tmp_path / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    server = start_sshd(tmp_path / "sshd", tmp_path / "authorized_keys")
    try:
        (tmp_path / "known_hosts").write_text(server.known_hosts_line)
        env = clean_env(HOME=str(tmp_path / "home"))
        env.pop("SSH_AUTH_SOCK", None)
        python = base_venv / "bin" / "python"   # the "device" runs the agent with the base install too
        deployed = run(base_venv / "bin" / "edgekit", "deploy", models["tflite"], "--host", server.spec,
                       "--target", "local", "-i", key, "--known-hosts", tmp_path / "known_hosts",
                       "--remote-python", python, "--remote-dir", tmp_path / "device", "--runs", "3",
                       "--warmup", "1", "--json", env=env, cwd=tmp_path)
    finally:
        server.stop()
    assert deployed.returncode == 0, deployed.stderr
    entry = json.loads(deployed.stdout)["devices"][0]
    assert entry["ok"] and entry["result"]["runtime"]["name"] == "ai_edge_litert"
    assert (tmp_path / "device" / "current").resolve().read_bytes() == models["tflite"].read_bytes()
