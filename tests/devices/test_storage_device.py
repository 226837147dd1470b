"""Weight storage forms on the arm64 device's own runtime (tflite-runtime 2.14 under qemu).

Backs the ``storage`` list of the Raspberry Pi profiles with measurements: int4 as edgekit
writes it and per-tensor sparse run correctly there, per-channel sparse runs silently wrong
(and deploy refuses it before sending anything).
"""

from __future__ import annotations

import numpy as np
import pytest

from storage_on_device import run_on_device
from support import run_edgekit

pytestmark = pytest.mark.device


def _cnn_on_grid(digits_train):
    import keras

    from edgekit.models import compile_classifier, digits_cnn

    keras.utils.set_random_seed(0)
    data = np.load(digits_train)
    model = compile_classifier(digits_cnn())
    model.fit(data["x"], data["y"], epochs=5, batch_size=32, verbose=0)
    for layer in model.layers:
        if layer.weights:
            kernel, bias = (np.asarray(w) for w in layer.weights)
            kernel = np.where(np.abs(kernel) < np.quantile(np.abs(kernel), 0.8), 0.0, kernel)
            step = np.abs(kernel).max() / 7
            layer.set_weights([np.round(kernel / step) * step, bias])
    return model


def _mlp_in_blocks(digits_train):
    import keras

    from edgekit.models import compile_classifier

    keras.utils.set_random_seed(0)
    data = np.load(digits_train)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(320, "relu"),
                              keras.layers.Dense(128, "relu"), keras.layers.Dense(10)])
    compile_classifier(model).fit(data["x"], data["y"], epochs=5, batch_size=32, verbose=0)
    for layer in model.layers[1:]:
        kernel, bias = (np.asarray(w) for w in layer.weights)
        norms = np.abs(kernel).reshape(kernel.shape[0] // 16, 16, -1).sum(axis=1)
        layer.set_weights([kernel * np.repeat(norms >= np.quantile(norms, 0.8), 16, axis=0), bias])
    return model


@pytest.fixture(scope="module")
def storage_files(tmp_path_factory, digits_train):
    from edgekit.convert import convert_model
    from edgekit.convert.storage.int4 import to_int4

    folder = tmp_path_factory.mktemp("storage-device")
    calibration = np.load(digits_train)["x"][:100]
    cnn, mlp = _cnn_on_grid(digits_train), _mlp_in_blocks(digits_train)
    blobs = {"cnn_int8": convert_model(cnn, quantize="int8", representative=calibration, per_tensor=True),
             "mlp_int8": convert_model(mlp, quantize="int8", representative=calibration),
             "mlp_int8_pt": convert_model(mlp, quantize="int8", representative=calibration, per_tensor=True),
             "mlp_sparse_pc": convert_model(mlp, quantize="int8", representative=calibration, sparsity=True),
             "mlp_sparse_pt": convert_model(mlp, quantize="int8", representative=calibration, per_tensor=True,
                                            sparsity=True)}
    blobs["cnn_int4"] = to_int4(blobs["cnn_int8"], "cnn")[0]
    files = {}
    for name, blob in blobs.items():
        files[name] = folder / f"{name}.tflite"
        files[name].write_bytes(blob)
    return files


def test_storage_forms_on_tflite_runtime_2_14(devices, ssh_flags, storage_files, digits_val):
    x = np.load(digits_val)["x"][:48]
    ssh = ["-i", ssh_flags[1], "-o", f"UserKnownHostsFile={ssh_flags[3]}", "-o", "BatchMode=yes"]
    out = run_on_device(devices[0], ssh, storage_files, x)
    assert not [name for name, value in out.items() if isinstance(value, str)], out
    int4_steps = np.abs(out["cnn_int4"] - out["cnn_int8"]).max()
    assert (out["cnn_int4"].argmax(1) == out["cnn_int8"].argmax(1)).mean() >= 0.95 and int4_steps < 1.0
    assert np.abs(out["mlp_sparse_pt"] - out["mlp_int8_pt"]).max() < 0.5
    agree_pc = (out["mlp_sparse_pc"].argmax(1) == out["mlp_int8"].argmax(1)).mean()
    assert np.abs(out["mlp_sparse_pc"] - out["mlp_int8"]).max() > 1.0 or agree_pc < 0.9   # silently wrong


def test_deploy_refuses_per_channel_sparse_for_rpi4_before_sending(devices, ssh_flags, storage_files):
    done = run_edgekit("deploy", storage_files["mlp_sparse_pc"], "--target", "rpi4", "--host", devices[0].spec,
                       *ssh_flags, "--remote-dir", "/home/pi/storage-refused")
    assert done.returncode == 5 and "sparse-per-channel, which target rpi4 does not run correctly" in done.stderr
    assert not (devices[0].root / "home/pi/storage-refused").exists()
