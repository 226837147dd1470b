"""``edgekit deploy --op-profile`` on an emulated arm64 Pi: tflite-runtime 2.14 (numpy 1.x) times each operator.

Emulation is hundreds of times slower than a Pi: the digits int8 model (6 operators), 3 runs each.
"""

from __future__ import annotations

import json

import pytest

import rig
from helpers.op_profile_checks import assert_profiles_every_op
from helpers.support import run_edgekit

pytestmark = pytest.mark.device


def test_deploy_op_profile_on_the_pi_lists_every_operator(devices, digits_tflite, ssh_flags):
    model, pi = digits_tflite("int8"), devices[0]
    proc = run_edgekit("deploy", model, "--target", "rpi4", "--host", pi.spec, *ssh_flags,
                       "--remote-python", rig.DEVICE_PYTHON, "--remote-dir", "/home/pi/op-profile",
                       "--runs", "3", "--warmup", "1", "--threads", "1", "--op-profile", "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr
    bench = json.loads(proc.stdout)["devices"][0]["result"]
    assert bench["host"]["arch"] == "aarch64"
    assert (bench["runtime"]["name"], bench["runtime"]["version"]) == ("tflite_runtime", "2.14.0")
    assert_profiles_every_op(bench["op_profile"], model)
    assert bench["op_profile"]["inputs"] == "model"  # 2.14 keeps intermediate tensors for the operators' inputs
