"""``edgekit deploy --target rpi4`` end to end on emulated arm64 Pis (real sshd, tflite-runtime 2.14).

Emulation is hundreds of times slower than a Pi: tiny models, few runs. Each test uses its
own remote dir on the device so tests do not see each other's models.
"""

from __future__ import annotations

import json

import pytest

import rig
from helpers.support import run_edgekit

pytestmark = pytest.mark.device

BENCH = ["--runs", "3", "--warmup", "1", "--threads", "1"]


def deploy(model, device, ssh_flags, remote_dir: str, *extra: str, target: str = "rpi4"):
    """``edgekit deploy --json`` to one device; returns (process, parsed JSON or None)."""
    proc = run_edgekit("deploy", model, "--target", target, "--host", device.spec, *ssh_flags,
                       "--remote-python", rig.DEVICE_PYTHON if device.arch == "aarch64" else "python3",
                       "--remote-dir", remote_dir, *BENCH, *extra, "--json", timeout=900)
    try:
        return proc, json.loads(proc.stdout)
    except json.JSONDecodeError:
        return proc, None


def only_device(report: dict) -> dict:
    assert report["summary"]["devices"] == 1
    return report["devices"][0]


@pytest.fixture(scope="module")
def first_deploy(devices, models, ssh_flags):
    """Model ``a`` deployed and benchmarked on pi1, remote dir ``/home/pi/scenario``."""
    return deploy(models["a"], devices[0], ssh_flags, "/home/pi/scenario")


def test_deploy_benchmarks_on_arm64_with_tflite_runtime(first_deploy, devices, models):
    proc, report = first_deploy
    assert proc.returncode == 0, proc.stderr
    result = only_device(report)
    bench = result["result"]
    assert result["ok"] and result["arch"] == "aarch64"
    assert result["model_bytes_sent"] == models["a"].stat().st_size
    assert bench["host"]["arch"] == "aarch64"
    assert bench["host"]["hostname"] == devices[0].hostname
    assert bench["host"]["cpu_model"] == "Cortex-A72"
    assert bench["host"]["cpus_usable"] == 1  # the device's one-core cpuset, though the machine has more
    assert bench["runtime"]["name"] == "tflite_runtime" and bench["runtime"]["version"] == "2.14.0"
    assert bench["host"]["numpy"].startswith("1.")
    assert bench["timing_ms"]["runs"] == 3 and bench["timing_ms"]["mean"] > 0
    assert bench["device"]["before"]["governor"] == "ondemand"
    assert bench["device"]["before"]["temp_c"] == pytest.approx(48.3, abs=0.1)
    assert bench["device"]["throttled"] is False


def test_redeploy_of_the_same_model_sends_no_model_bytes(first_deploy, devices, models, ssh_flags):
    proc, report = deploy(models["a"], devices[0], ssh_flags, "/home/pi/scenario")
    assert proc.returncode == 0, proc.stderr
    result = only_device(report)
    assert result["cached"] is True and result["model_bytes_sent"] == 0
    assert result["current"] == first_deploy[1]["devices"][0]["current"]
    assert result["result"]["model"]["sha256"] == result["sha256"]


def test_rollback_reactivates_the_previous_model(first_deploy, devices, models, ssh_flags):
    sha_a = first_deploy[1]["devices"][0]["sha256"]
    proc, report = deploy(models["b"], devices[0], ssh_flags, "/home/pi/scenario", "--no-bench")
    assert proc.returncode == 0, proc.stderr
    sha_b = only_device(report)["sha256"]
    assert sha_b != sha_a and sha_b in only_device(report)["current"]

    proc = run_edgekit("rollback", "--target", "rpi4", "--host", devices[0].spec, *ssh_flags,
                       "--remote-dir", "/home/pi/scenario", "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    rolled = only_device(json.loads(proc.stdout))
    assert sha_a in rolled["current"] and sha_b in rolled["previous"]
    link = devices[0].root / "home/pi/scenario/current"
    assert sha_a in str(link.readlink())


def test_throttled_device_is_flagged(devices, models, ssh_flags):
    pi = devices[1]
    pi.set_throttled("0x50005")  # under-voltage + throttled now, and since boot
    pi.set_temperature(82.0)
    try:
        proc, report = deploy(models["a"], pi, ssh_flags, "/home/pi/throttle")
    finally:
        pi.set_throttled("0x0")
        pi.set_temperature(48.312)
    assert proc.returncode == 0, proc.stderr
    device = only_device(report)["result"]["device"]
    assert device["throttled"] is True
    assert "under-voltage" in device["throttle_reasons"] and "throttled" in device["throttle_reasons"]
    assert device["before"]["temp_c"] == pytest.approx(82.0)

    proc = run_edgekit("deploy", models["a"], "--target", "rpi4", "--host", pi.spec, *ssh_flags,
                       "--remote-python", rig.DEVICE_PYTHON, "--remote-dir", "/home/pi/throttle", *BENCH)
    assert proc.returncode == 0, proc.stderr
    assert "THROTTLED" not in proc.stdout  # the flag follows the device, not the model


def test_model_needing_more_than_device_memory_fails_clearly_and_device_stays_usable(
        devices, models, ssh_flags, oom_limit_mb):
    pi = devices[1]
    normal_mb = pi.memory_limit_mb()
    pi.set_memory_limit(oom_limit_mb)
    try:
        proc, report = deploy(models["oversized"], pi, ssh_flags, "/home/pi/oom")
    finally:
        pi.set_memory_limit(normal_mb)
    assert proc.returncode == 4, proc.stderr
    failure = only_device(report)
    assert not failure["ok"] and failure["exit_code"] == 4
    assert pi.spec in failure["error"] and "SIGKILL" in failure["error"] and "out of memory" in failure["error"]
    assert "Traceback" not in proc.stderr
    assert pi.pids(), "the device's sshd died with the model"

    proc, report = deploy(models["a"], pi, ssh_flags, "/home/pi/oom")
    assert proc.returncode == 0, proc.stderr
    assert only_device(report)["result"]["runtime"]["name"] == "tflite_runtime"


def test_fleet_of_two_pis_and_an_x86_box_reports_per_host(devices, models, ssh_flags, tmp_path):
    pi1, pi2, pc = devices
    inventory = tmp_path / "edgekit.toml"
    inventory.write_text("".join(
        f'[devices.{d.hostname}]\nhost = "{d.spec}"\ntarget = "rpi4"\ngroups = ["fleet"]\n'
        f'remote_python = "{rig.DEVICE_PYTHON if d.arch == "aarch64" else "python3"}"\n'
        f'remote_dir = "{"/home/pi/fleet" if d.arch == "aarch64" else d.root / "home/fleet"}"\n\n'
        for d in devices))
    proc = run_edgekit("deploy", models["b"], "--group", "fleet", "--inventory", inventory, *ssh_flags,
                       *BENCH, "--parallel", "3", "--json", timeout=900)
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"] == {"devices": 3, "ok": 2, "failed": 1, "interrupted": 0}
    by_name = {d["device"]: d for d in report["devices"]}
    for pi in (pi1, pi2):
        assert by_name[pi.hostname]["ok"]
        assert by_name[pi.hostname]["result"]["host"]["hostname"] == pi.hostname
        assert by_name[pi.hostname]["result"]["runtime"]["name"] == "tflite_runtime"
    failed = by_name[pc.hostname]
    assert not failed["ok"] and failed["exit_code"] == 3
    assert pc.ip in failed["error"] and "'x86_64'" in failed["error"] and "rpi4" in failed["error"]
