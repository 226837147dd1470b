"""What the arm64 device's own runtime (tflite-runtime 2.14) computes, checked by deploy before activation.

``--eval``: the digits int8 model's accuracy on the device beside LiteRT's on the host, and
their top-1 agreement. Compact files: a correct int4 file passes its check and is activated;
per-channel sparse int8, which tflite-runtime 2.14 runs silently wrong, is refused by the
on-device check itself (the profile here claims the form) and the device keeps its model.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import rig
from helpers import storage_shapes
from helpers.support import run_edgekit

pytestmark = pytest.mark.device

ACCURACY_POINTS = 0.5   # device vs host accuracy, in points: the same int8 file on two runtime builds


def deploy(model, device, ssh_flags, remote_dir, *extra, target="rpi4", env=None):
    proc = run_edgekit("deploy", model, "--target", target, "--host", device.spec, *ssh_flags,
                       "--remote-python", rig.DEVICE_PYTHON, "--remote-dir", remote_dir, "--runs", "3",
                       "--warmup", "1", *extra, "--json", timeout=900, env=env)
    return proc, json.loads(proc.stdout)["devices"][0] if proc.stdout.strip() else None


@pytest.fixture(scope="module")
def digits_int8(digits_model, digits_train, tmp_path_factory):
    from edgekit.convert import convert_file

    out = tmp_path_factory.mktemp("device-outputs") / "digits_int8.tflite"
    convert_file(digits_model, out, quantize="int8", calibration=digits_train, io_type="int8")
    return out


def test_deploy_eval_reports_device_accuracy_beside_host(devices, ssh_flags, digits_int8, digits_val):
    proc, entry = deploy(digits_int8, devices[0], ssh_flags, "/home/pi/eval", "--eval", digits_val)
    assert proc.returncode == 0, proc.stderr
    ev = entry["checks"]["eval"]
    assert entry["checks"]["runtime"]["name"] == "tflite_runtime" and entry["checks"]["runtime"]["version"] == "2.14.0"
    assert ev["samples"] == 359 and ev["host"]["accuracy"] > 0.9
    assert abs(ev["device"]["accuracy"] - ev["host"]["accuracy"]) * 100 <= ACCURACY_POINTS
    assert ev["agreement"]["top1"] >= 0.99 and ev["agreement"]["ok"]
    delegation = entry["result"]["delegation"]
    from edgekit.inspect import read_tflite

    assert delegation["ops"] == len(read_tflite(digits_int8).main.operators)
    assert 0 <= delegation["ops_delegated"] <= delegation["ops"]
    assert list((devices[0].root / "home/pi/eval/scratch").iterdir()) == []
    print(json.dumps({"eval": ev, "delegation": delegation}))


@pytest.fixture(scope="module")
def compact_files(digits_train, tmp_path_factory):
    from edgekit.convert import convert_model
    from edgekit.convert.storage.int4 import to_int4

    folder = tmp_path_factory.mktemp("device-compact")
    calibration = np.load(digits_train)["x"][:100]
    cnn = storage_shapes.int4_grid(storage_shapes.trained("cnn", digits_train, epochs=5))
    mlp = storage_shapes.block_sparse(storage_shapes.trained("mlp", digits_train, epochs=5))
    cnn_int8 = convert_model(cnn, quantize="int8", representative=calibration, per_tensor=True)
    blobs = {"cnn_int4": to_int4(cnn_int8, "cnn")[0],
             "mlp_sparse_pc": convert_model(mlp, quantize="int8", representative=calibration, sparsity=True)}
    files = {}
    for name, blob in blobs.items():
        files[name] = folder / f"{name}.tflite"
        files[name].write_bytes(blob)
    return files


def test_compact_files_are_checked_on_the_device_before_activation(devices, ssh_flags, compact_files, digits_val,
                                                                    tmp_path):
    pi, remote = devices[0], "/home/pi/compact"
    proc, entry = deploy(compact_files["cnn_int4"], pi, ssh_flags, remote, "--no-bench")
    assert proc.returncode == 0, proc.stderr
    ref = entry["checks"]["reference"]
    assert ref["storage"] == ["int4"] and ref["origin"] == "re-made as int8 on the host" and ref["ok"]
    int4_link = f"models/{entry['sha256']}.tflite"
    assert os.readlink(pi.root / "home/pi/compact/current") == int4_link

    profiles = tmp_path / "targets"
    profiles.mkdir()
    (profiles / "rpi4-claims.toml").write_text('name = "rpi4-claims"\ndescription = "rpi4 claiming per-channel sparse"\narch = "aarch64"\n'
                       'cpu = "Cortex-A72"\ncores = 4\ndefault_threads = 1\nram_mb = 4096\n'
                       'runtimes = ["tflite_runtime"]\nquantizations = ["int8"]\n'
                       'storage = ["int8", "int4", "sparse", "sparse-per-channel"]\n')
    models_before = sorted(os.listdir(pi.root / "home/pi/compact/models"))
    proc, entry = deploy(compact_files["mlp_sparse_pc"], pi, ssh_flags, remote, "--eval", digits_val,
                         "--eval-limit", "64", target="rpi4-claims",
                         env={**os.environ, "EDGEKIT_TARGETS": str(profiles)})
    assert proc.returncode == 5, proc.stderr
    assert "mlp_sparse_pc.tflite refused: on the device its outputs disagree with its int8 reference" in entry["error"]
    assert "tflite_runtime 2.14.0" in entry["error"] and "nothing was activated" in entry["error"]
    assert os.readlink(pi.root / "home/pi/compact/current") == int4_link
    assert sorted(os.listdir(pi.root / "home/pi/compact/models")) == models_before
    assert list((pi.root / "home/pi/compact/scratch").iterdir()) == []
    print(entry["error"])
