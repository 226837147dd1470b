"""edgekit deploy / rollback against a real sshd: first deploy, cached re-deploy, rollback, JSON."""

from __future__ import annotations

import json
import os

import pytest
from remote_support import file_sha256

from edgekit.results import ResultStore

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def test_first_deploy_benchmarks_on_device_and_records(cli, sshd, device_args, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    result = cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"] == {"devices": 1, "ok": 1, "failed": 0, "interrupted": 0}
    entry = report["devices"][0]
    sha = file_sha256(remote_models["a"])
    assert entry["sha256"] == sha
    assert entry["model_bytes_sent"] == remote_models["a"].stat().st_size
    assert entry["agent_bytes_sent"] > 0
    assert entry["result"]["model"]["sha256"] == sha  # computed by the agent on the device
    assert entry["result"]["timing_ms"]["runs"] == 5
    assert entry["result"]["runtime"]["name"] == "ai_edge_litert"
    assert os.readlink(device_dir / "current") == f"models/{sha}.tflite"
    assert file_sha256(device_dir / "current") == sha
    assert not (device_dir / "previous").exists()
    assert list((device_dir / "tmp").iterdir()) == []
    runs = ResultStore().runs()
    assert [r["id"] for r in runs] == [entry["run_id"]]
    assert runs[0]["model_name"] == "a.tflite" and runs[0]["target"] == "local"


def test_redeploy_sends_no_model_bytes_and_rollback_swaps(cli, sshd, device_args, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    sha_a, sha_b = file_sha256(remote_models["a"]), file_sha256(remote_models["b"])
    assert cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    assert cli("deploy", remote_models["b"], *device_args(sshd, device_dir), "--no-bench").exit_code == 0

    again = cli("deploy", remote_models["b"], *device_args(sshd, device_dir))
    assert again.exit_code == 0, again.output
    assert "0 model bytes sent" in again.stderr and "cached, 0 model bytes sent" in again.stdout
    assert os.readlink(device_dir / "current") == f"models/{sha_b}.tflite"
    assert os.readlink(device_dir / "previous") == f"models/{sha_a}.tflite"

    rollback_args = [a for a in device_args(sshd, device_dir) if a not in ("--runs", "5", "--warmup", "1")]
    back = cli("rollback", *rollback_args)
    assert back.exit_code == 0, back.output
    assert os.readlink(device_dir / "current") == f"models/{sha_a}.tflite"
    assert os.readlink(device_dir / "previous") == f"models/{sha_b}.tflite"
    assert file_sha256(device_dir / "current") == sha_a

    # re-deploying A, now current, changes nothing and sends nothing
    same = cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--no-bench", "--json")
    assert json.loads(same.stdout)["devices"][0]["model_bytes_sent"] == 0
    assert os.readlink(device_dir / "previous") == f"models/{sha_b}.tflite"


def test_rollback_without_previous_model_fails_clearly(cli, sshd, device_args, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    assert cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    args = [a for a in device_args(sshd, device_dir) if a not in ("--runs", "5", "--warmup", "1")]
    result = cli("rollback", *args)
    assert result.exit_code == 3
    assert "no previous model" in result.stderr


def test_not_a_tflite_file_is_refused_before_connecting(cli, sshd, device_args, tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"not a flatbuffer at all")
    result = cli("deploy", bogus, *device_args(sshd))
    assert result.exit_code == 2
    assert "not a TFLite model" in result.stderr
