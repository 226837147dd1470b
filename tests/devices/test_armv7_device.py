"""``edgekit deploy --target rpi3`` end to end on an emulated 32-bit Pi 3 (armv7l userland under
qemu-arm, tflite-runtime 2.14 armv7l wheel, Debian's numpy 1.24), as the arm64 devices prove rpi4."""

from __future__ import annotations

import json

import pytest

import rig
from helpers.support import run_edgekit, unavailable

pytestmark = pytest.mark.device

INDEX = 4  # after the session's pi1, pi2, pc3


@pytest.fixture(scope="module")
def pi3(rig_machine, client_key, tmp_path_factory):
    """The armv7l device and ``edgekit deploy`` flags that reach it (its own known_hosts)."""
    try:
        rig.ensure_binfmt("qemu-arm")
    except rig.RigUnavailable as err:
        unavailable(f"emulated armv7 device unavailable: {err}")
    device = rig.start_device(INDEX, client_key.with_suffix(".pub").read_text(), arch="armv7l", memory_mb=384)
    try:
        known_hosts = tmp_path_factory.mktemp("pi3") / "known_hosts"
        known_hosts.write_text(device.known_hosts_line)
        yield device, ["--host", device.spec, "-i", str(client_key), "--known-hosts", str(known_hosts),
                       "--remote-python", rig.DEVICE_PYTHON]
    finally:
        rig.stop_device(device)


def test_deploy_benchmarks_on_armv7_with_tflite_runtime(pi3, models):
    device, flags = pi3
    proc = run_edgekit("deploy", models["a"], "--target", "rpi3", *flags, "--remote-dir", "/home/pi/armv7",
                       "--runs", "3", "--warmup", "1", "--threads", "1", "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["devices"]
    bench = result["result"]
    assert result["ok"] and result["arch"] == "armv7l" and result["target"] == "rpi3"
    assert (bench["runtime"]["name"], bench["runtime"]["version"]) == ("tflite_runtime", "2.14.0")
    assert bench["host"]["arch"] == "armv7l" and bench["host"]["cpu_model"] == "Cortex-A53"
    assert bench["host"]["numpy"].startswith("1.") and bench["timing_ms"]["runs"] == 3
    assert bench["model"]["sha256"] == result["sha256"]
    current = device.root / "home/pi/armv7/current"
    assert current.resolve().read_bytes() == models["a"].read_bytes()


def test_a_64_bit_profile_is_refused_on_the_32_bit_pi(pi3, models):
    device, flags = pi3
    proc = run_edgekit("deploy", models["a"], "--target", "rpi4", *flags, "--remote-dir", "/home/pi/armv7-wrong",
                       "--no-bench", timeout=600)
    assert proc.returncode == 3
    assert "armv7l" in proc.stderr and "aarch64" in proc.stderr and "Traceback" not in proc.stderr
    assert not (device.root / "home/pi/armv7-wrong/current").exists()
