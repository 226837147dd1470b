"""``deploy --eval`` and the output check of compact files against a real sshd (LiteRT on both sides).

The device-tier tests run the same on the emulated Pi's tflite-runtime 2.14; here the
mechanics are checked: scores beside the host's, one line for bad data before connecting,
a refused file leaving the device as it was.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from remote_support import file_sha256

pytestmark = pytest.mark.ssh


@pytest.fixture(scope="module")
def digits_files(tmp_path_factory):
    """The zoo's int8 digits CNN and a sparse-encoded per-channel int8 MLP (LiteRT runs both correctly)."""
    from helpers.tflite_zoo import int8_digits, sparse_int8

    out = tmp_path_factory.mktemp("outputs-models")
    return {"int8": int8_digits(out), "sparse": sparse_int8(out)}


@pytest.fixture
def any_storage(tmp_path, monkeypatch):
    """A profile like ``local`` whose runtime is said to run every storage form (the on-device check decides)."""
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "local-any.toml").write_text(
        'name = "local-any"\ndescription = "local, every storage form claimed"\narch = "host"\ncpu = "host"\n'
        'cores = 0\ndefault_threads = 1\nram_mb = 0\nruntimes = ["ai_edge_litert"]\n'
        'quantizations = ["none", "int8"]\nstorage = ["int8", "int4", "sparse", "sparse-per-channel"]\n')
    monkeypatch.setenv("EDGEKIT_TARGETS", str(folder))
    return "local-any"


def test_deploy_eval_reports_device_accuracy_beside_host(cli, sshd, device_args, digits_files, digits_val, tmp_path):
    device_dir = tmp_path / "device"
    done = cli("deploy", digits_files["int8"], *device_args(sshd, device_dir), "--eval", digits_val, "--json")
    assert done.exit_code == 0, done.output
    entry = json.loads(done.stdout)["devices"][0]
    ev = entry["checks"]["eval"]
    host = json.loads(cli("eval", digits_files["int8"], "--data", digits_val, "--json").stdout)
    assert ev["samples"] == host["samples"] == 359
    assert ev["host"]["accuracy"] == host["accuracy"] > 0.8
    assert ev["device"]["accuracy"] == host["accuracy"]           # the same runtime on both sides here
    assert ev["agreement"]["top1"] == 1.0 and ev["agreement"]["max_steps"] == 0 and ev["agreement"]["ok"]
    assert entry["checks"]["delegation"]["ops"] == 6
    assert entry["result"]["delegation"]["applied"] == ["XNNPACK"]
    assert entry["result"]["delegation"]["ops_delegated"] == 6
    assert list((device_dir / "scratch").iterdir()) == []         # inputs and outputs removed after the run

    text = cli("deploy", digits_files["int8"], *device_args(sshd, device_dir), "--eval", digits_val)
    assert text.exit_code == 0, text.output
    pct = f"{100 * host['accuracy']:.2f}%"
    assert f"accuracy on the device {pct} vs host {pct} (LiteRT), top-1 agreement 100.00%" in text.stdout
    assert "XNNPACK took 6/6 ops" in text.stdout


@pytest.mark.parametrize("arrays,message", [
    ({"x": "images"}, "no labels"),
    ({"x": "wrong", "y": "labels"}, "expected shape (8, 8, 1) per sample"),
])
def test_bad_eval_data_is_one_line_before_connecting(cli, digits_files, digits_val, tmp_path, arrays, message):
    data = np.load(digits_val)
    values = {"images": data["x"][:20], "labels": data["y"][:20], "wrong": np.zeros((20, 28, 28), np.float32)}
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{key: values[name] for key, name in arrays.items()})
    done = cli("deploy", digits_files["int8"], "--host", "nobody@192.0.2.1:9", "--target", "local",
               "--connect-timeout", "0.5", "--eval", bad)
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1 and "bad.npz" in done.stderr and message in done.stderr, done.stderr


def test_reference_for_a_plain_file_is_one_line_before_connecting(cli, digits_files):
    done = cli("deploy", digits_files["int8"], "--host", "nobody@192.0.2.1:9", "--target", "local",
               "--reference", digits_files["int8"])
    assert done.exit_code == 2 and done.stderr.count("\n") == 1
    assert "int8_digits.tflite has no int4 or sparse kernels" in done.stderr, done.stderr


def test_compact_file_is_checked_against_its_int8_remake_and_activated(cli, sshd, device_args, digits_files,
                                                                        any_storage, tmp_path):
    device_dir = tmp_path / "device"
    args = [a if a != "local" else any_storage for a in device_args(sshd, device_dir)]
    done = cli("deploy", digits_files["sparse"], *args, "--no-bench", "--json")
    assert done.exit_code == 0, done.output
    ref = json.loads(done.stdout)["devices"][0]["checks"]["reference"]
    assert ref["origin"] == "re-made as int8 on the host" and ref["storage"] == ["sparse-per-channel"]
    assert ref["ok"] and ref["max_steps"] <= 1 and ref["samples"] == 64
    assert os.readlink(device_dir / "current") == f"models/{file_sha256(digits_files['sparse'])}.tflite"


def test_a_file_disagreeing_with_its_reference_is_refused_and_the_device_kept(cli, sshd, device_args, digits_files,
                                                                              any_storage, tmp_path):
    device_dir = tmp_path / "device"
    args = [a if a != "local" else any_storage for a in device_args(sshd, device_dir)]
    assert cli("deploy", digits_files["int8"], *args, "--no-bench").exit_code == 0
    before = sorted(p.name for p in (device_dir / "models").iterdir())
    # A reference computing something else stands in for a runtime that reads the compact form wrong.
    done = cli("deploy", digits_files["sparse"], *args, "--reference", digits_files["int8"], "--no-bench", "--json")
    assert done.exit_code == 5, done.output
    assert done.stderr.startswith("edgekit: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "sparse_int8.tflite refused" in done.stderr and "nothing was activated" in done.stderr
    assert os.readlink(device_dir / "current") == f"models/{file_sha256(digits_files['int8'])}.tflite"
    assert sorted(p.name for p in (device_dir / "models").iterdir()) == before
    assert list((device_dir / "scratch").iterdir()) == []


def test_deploy_eval_scores_every_output_of_a_two_output_model(cli, sshd, device_args, tmp_path):
    """Classes and a regression value: the device's outputs are matched to the host's by tensor, not by position."""
    from helpers.tflite_zoo import multi_io

    from edgekit.evaluate.tflite import TFLiteModel

    model = multi_io(tmp_path)
    host = TFLiteModel(model)
    rng = np.random.default_rng(0)
    inputs = [rng.random((40, *shape), dtype=np.float32) for shape in host.input_shapes]
    data = tmp_path / "multi.npz"
    np.savez(data, **{f"x{i}": x for i, x in enumerate(inputs)}, y0=rng.integers(0, 10, 40),
             y1=rng.random((40, 1), dtype=np.float32))
    done = cli("deploy", model, *device_args(sshd, tmp_path / "device"), "--eval", data, "--no-bench", "--json")
    assert done.exit_code == 0, done.output
    ev = json.loads(done.stdout)["devices"][0]["checks"]["eval"]
    heads = ev["device"]["outputs"]
    assert [h["task"] for h in heads.values()] == ["classification", "regression"]
    assert ev["device"] == ev["host"] and ev["agreement"]["max_steps"] == 0
