"""Deploys that never leave a device worse off: unloadable or corrupted models, two deploys at once,
Ctrl-C and SIGTERM -- each against a real sshd."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from remote_support import agent_pids, file_sha256, flip_two_bytes

from edgekit.results import ResultStore

pytestmark = pytest.mark.ssh  # a real sshd on 127.0.0.1


def _link(device_dir: Path, name: str) -> str | None:
    path = device_dir / name
    return os.readlink(path) if path.is_symlink() else None


def _model_link(path: Path) -> str:
    return f"models/{file_sha256(path)}.tflite"


def _edgekit(*args) -> subprocess.Popen:
    """``edgekit ARGS`` as a real process (signals go to it alone)."""
    return subprocess.Popen([sys.executable, "-m", "edgekit", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _part_bytes(device_dir: Path) -> int:
    parts = list((device_dir / "tmp").glob("*.part")) if (device_dir / "tmp").is_dir() else []
    try:
        return max((p.stat().st_size for p in parts), default=0)
    except FileNotFoundError:
        return 0


def _trust(known_hosts: Path, sshd, proxy) -> None:
    known_hosts.write_text(known_hosts.read_text() + sshd.known_hosts_line.replace(str(sshd.port), str(proxy.port)))


def test_model_the_device_cannot_run_never_becomes_current(cli, sshd, device_args, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    good = remote_models["a"]
    assert cli("deploy", good, *device_args(sshd, device_dir), "--no-bench").exit_code == 0

    rejected = cli("deploy", remote_models["v99"], *device_args(sshd, device_dir))
    assert rejected.exit_code == 4, rejected.output
    assert "(version 99)" in rejected.stderr and "nothing was activated" in rejected.stderr
    assert _link(device_dir, "current") == _model_link(good)
    assert _link(device_dir, "previous") is None  # never replaced by a model that was never good
    assert ResultStore().runs() == []

    custom = cli("deploy", remote_models["custom"], *device_args(sshd, device_dir))
    assert custom.exit_code == 3, custom.output
    assert "custom op(s) BesselI1e" in custom.stderr and "ai_edge_litert" in custom.stderr
    assert not (device_dir / _model_link(remote_models["custom"])).exists()  # refused before uploading
    assert _link(device_dir, "current") == _model_link(good)
    assert file_sha256(device_dir / "current") == file_sha256(good)


def test_corrupted_cached_model_is_uploaded_again(cli, sshd, device_args, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    model, sha = remote_models["a"], file_sha256(remote_models["a"])
    assert cli("deploy", model, *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    stored = device_dir / "models" / f"{sha}.tflite"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
    stored.write_bytes(bytes(data))
    corrupt_sha = file_sha256(stored)

    again = cli("deploy", model, *device_args(sshd, device_dir), "--json")
    assert again.exit_code == 0, again.output
    entry = json.loads(again.stdout)["devices"][0]
    assert entry["replaced_corrupt"] == corrupt_sha
    assert entry["model_bytes_sent"] == model.stat().st_size and not entry["cached"]
    assert file_sha256(device_dir / "current") == sha
    assert entry["sha256"] == entry["result"]["model"]["sha256"] == sha  # measured by the agent
    assert [r["model_sha256"] for r in ResultStore().runs()] == [sha]


def test_second_deploy_to_a_busy_device_fails_clearly_and_leaves_the_first_alone(
        cli, sshd, device_args, known_hosts, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    big = remote_models["big"]
    with FaultProxy(sshd.port, rate=2_500_000) as slow:
        _trust(known_hosts, sshd, slow)
        first = _edgekit("deploy", big, *device_args(sshd, device_dir, port=slow.port), "--no-bench")
        _wait_for(lambda: _part_bytes(device_dir) > 0, 60, "the first upload to start")
        second = cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--no-bench")
        assert _part_bytes(device_dir) > 0  # the first upload's .part was not taken for a stray one
        out, err = first.communicate(timeout=120)
    assert second.exit_code == 3, second.output
    assert f"another deploy to {sshd.spec} is in progress" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 2  # "deploying ..." and the one error line
    assert first.returncode == 0, err
    assert file_sha256(device_dir / "current") == file_sha256(big)
    assert cli("deploy", remote_models["a"], *device_args(sshd, device_dir), "--no-bench").exit_code == 0


def test_ctrl_c_stops_a_fleet_at_a_safe_point(sshd_pool, user_key, known_hosts, remote_models, tmp_path):
    """SIGINT at ~30% of device 1's upload (--parallel 1, 6 devices): nothing activated, nothing queued started."""
    first, big, small = tmp_path / "dev0", remote_models["big"], remote_models["a"]
    with FaultProxy(sshd_pool[0].port, rate=2_500_000) as slow:
        _trust(known_hosts, sshd_pool[0], slow)
        ports = [slow.port] + [sshd_pool[i % 3].port for i in range(1, 6)]
        (tmp_path / "edgekit.toml").write_text("".join(
            f'[devices.dev{i}]\nhost = "{getpass.getuser()}@127.0.0.1:{port}"\ntarget = "local"\ngroups = ["lab"]\n'
            f'remote_python = "{sys.executable}"\nremote_dir = "{tmp_path / f"dev{i}"}"\n' for i, port in enumerate(ports)))
        flags = ["-i", user_key, "--known-hosts", known_hosts, "--no-bench", "--parallel", "1"]
        setup = subprocess.run([sys.executable, "-m", "edgekit", "deploy", small, "--device", "dev0", *flags],
                               capture_output=True, text=True)
        assert setup.returncode == 0, setup.stderr
        fleet = _edgekit("deploy", big, "--group", "lab", *flags)
        _wait_for(lambda: _part_bytes(first) > 0.3 * big.stat().st_size, 60, "30% of the upload")
        fleet.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, err = fleet.communicate(timeout=60)
        stopped_in = time.monotonic() - started
    assert fleet.returncode == 130, err
    assert stopped_in < 10
    assert "interrupted: 0 of 6 device(s) done, 1 stopped before activating, 5 not started" in out, out
    assert "dev0 (" in err and "partial upload was removed" in err
    assert "Traceback" not in err and "Aborted" not in err
    assert _link(first, "current") == _model_link(small) and file_sha256(first / "current") == file_sha256(small)
    assert not (first / _model_link(big)).exists() and _part_bytes(first) == 0
    assert not any((tmp_path / f"dev{i}").exists() for i in range(1, 6))  # queued devices were never started


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_bench_stops_on_sigint_and_sigterm(remote_models, tmp_path, signum):
    model = tmp_path / "bench-me.tflite"  # this test's own path: no other test's agent can match it
    shutil.copyfile(remote_models["a"], model)
    bench = _edgekit("bench", model, "--runs", "100000000", "--warmup", "0")
    try:
        _wait_for(lambda: agent_pids(str(model)), 60, "the agent to start")
        bench.send_signal(signum)
        out, err = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:  # a failed run must not leave a 100M-run benchmark behind
            bench.kill()
            bench.wait()
    assert bench.returncode == 130, err
    assert err.strip().splitlines()[-1] == "edgekit: interrupted"
    assert "Traceback" not in err and "Aborted" not in err
    _wait_for(lambda: not agent_pids(str(model)), 10, "the agent to be gone")


def test_keep_models_removes_old_unused_models(cli, sshd, device_args, remote_models, user_key, known_hosts, tmp_path):
    device_dir = tmp_path / "device"
    (tmp_path / "edgekit.toml").write_text(
        f'[devices.pi]\nhost = "{sshd.spec}"\ntarget = "local"\nremote_python = "{sys.executable}"\n'
        f'remote_dir = "{device_dir}"\nkeep_models = 3\n')
    flags = ["--device", "pi", "-i", user_key, "--known-hosts", known_hosts, "--no-bench"]
    name = {m: f"{file_sha256(remote_models[m])}.tflite" for m in "abcd"}
    for model in "abcd":
        result = cli("deploy", remote_models[model], *flags)
        assert result.exit_code == 0, result.output
    assert "removed 1 old model(s) (keep_models = 3)" in result.stderr
    assert {p.name for p in (device_dir / "models").iterdir()} == {name["b"], name["c"], name["d"]}
    assert cli("rollback", *flags[:-1]).exit_code == 0          # current c, previous d
    assert cli("deploy", remote_models["a"], *flags).exit_code == 0  # current a, previous c
    assert {p.name for p in (device_dir / "models").iterdir()} == {name["a"], name["c"], name["d"]}
    assert _link(device_dir, "current") == f"models/{name['a']}" and _link(device_dir, "previous") == f"models/{name['c']}"


def test_build_stops_on_sigterm_without_half_written_files(tmp_path):
    from helpers.build_support import project

    out = tmp_path / "out"
    build = _edgekit("build", project(tmp_path), "--out", out)
    first = build.stderr.readline()  # the build's first progress line: TensorFlow is loaded, work has begun
    assert first, "the build printed nothing"
    time.sleep(1.0)
    build.send_signal(signal.SIGTERM)
    _, err = build.communicate(timeout=60)
    assert build.returncode == 130, first + err
    assert err.strip().splitlines()[-1] == "edgekit: interrupted"
    assert "Traceback" not in err
    assert not out.exists() or not [p for p in out.rglob("*") if ".tmp" in p.name or p.name == "manifest.json"]


def test_rollback_to_a_corrupted_previous_is_refused_and_current_stays(cli, sshd, device_args, remote_models,
                                                                        tmp_path):
    device_dir = tmp_path / "device"
    old, new = remote_models["a"], remote_models["b"]
    for model in (old, new):
        assert cli("deploy", model, *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    flip_two_bytes(device_dir / _model_link(old))

    rollback = cli("rollback", *device_args(sshd, device_dir)[:-4])
    assert rollback.exit_code == 3, rollback.output
    errors = [line for line in rollback.stderr.splitlines() if line.startswith("edgekit: error:")]
    assert len(errors) == 1 and "Traceback" not in rollback.stderr
    assert f"{_model_link(old)} is corrupted" in errors[0] and f"current stays {_model_link(new)}" in errors[0]
    assert "active again" not in rollback.stdout
    assert _link(device_dir, "current") == _model_link(new) and file_sha256(device_dir / "current") == file_sha256(new)
    assert _link(device_dir, "previous") == _model_link(old)  # left for a deploy of that model to repair


def test_interrupted_reupload_of_the_current_models_corrupted_copy_leaves_current_on_a_file(
        cli, sshd, device_args, known_hosts, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    big = remote_models["big"]
    assert cli("deploy", big, *device_args(sshd, device_dir), "--no-bench").exit_code == 0
    stored = device_dir / _model_link(big)
    flip_two_bytes(stored)
    corrupt = file_sha256(stored)
    with FaultProxy(sshd.port, rate=2_500_000) as slow:
        _trust(known_hosts, sshd, slow)
        again = _edgekit("deploy", big, *device_args(sshd, device_dir, port=slow.port), "--no-bench")
        _wait_for(lambda: _part_bytes(device_dir) > 0.3 * big.stat().st_size, 60, "30% of the re-upload")
        again.send_signal(signal.SIGINT)
        out, err = again.communicate(timeout=60)
    assert again.returncode == 130, err
    assert f"copy of {file_sha256(big)[:12]} is corrupted" in err
    assert "current still points at the device's corrupted copy" in err and "previous model stays active" not in err
    assert _link(device_dir, "current") == _model_link(big)
    assert (device_dir / "current").is_file() and file_sha256(device_dir / "current") == corrupt  # not dangling
    assert _part_bytes(device_dir) == 0

    repaired = cli("deploy", big, *device_args(sshd, device_dir), "--no-bench")
    assert repaired.exit_code == 0, repaired.output
    assert file_sha256(device_dir / "current") == file_sha256(big)


def _unloadable(model: Path, version: int, out: Path) -> Path:
    """``model`` with every op at ``version``: a TFLite file no runtime loads (each version its own sha256)."""
    from tensorflow.lite.tools import flatbuffer_utils

    graph = flatbuffer_utils.convert_bytearray_to_object(bytearray(model.read_bytes()))
    for code in graph.operatorCodes:
        code.version = version
    out.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(graph)))
    return out


def test_refused_deploys_never_cost_a_good_model(cli, sshd, user_key, known_hosts, remote_models, tmp_path):
    """keep_models 4: four good models with four refused ones in between all stay; a fifth good one
    then costs exactly the least recently activated good one."""
    device_dir = tmp_path / "device"
    (tmp_path / "edgekit.toml").write_text(
        f'[devices.pi]\nhost = "{sshd.spec}"\ntarget = "local"\nremote_python = "{sys.executable}"\n'
        f'remote_dir = "{device_dir}"\nkeep_models = 4\n')
    flags = ["--device", "pi", "-i", user_key, "--known-hosts", known_hosts, "--no-bench"]
    good = [remote_models[name] for name in ("a", "b", "c", "d")]
    refused = [_unloadable(remote_models["a"], 90 + i, tmp_path / f"refused{i}.tflite") for i in range(4)]
    for model in (good[0], refused[0], good[1], refused[1], good[2], refused[2], refused[3], good[3]):
        current = _link(device_dir, "current")
        result = cli("deploy", model, *flags)
        if model in refused:
            assert result.exit_code == 4, result.output
            assert "removed 1 refused model file(s)" in result.stderr
            assert not (device_dir / _model_link(model)).exists()  # removed at once
            assert _link(device_dir, "current") == current
        else:
            assert result.exit_code == 0, result.output
            assert "old model(s)" not in result.stderr
    assert sorted(p.name for p in (device_dir / "models").iterdir()) == sorted(Path(_model_link(m)).name for m in good)
    record = json.loads((device_dir / "record.json").read_text())["models"]
    assert sorted(record) == sorted(file_sha256(m) for m in good)
    orders = [record[file_sha256(m)]["order"] for m in good]
    assert orders == sorted(orders)  # the device's own order of activation

    result = cli("deploy", remote_models["big"], *flags)
    assert result.exit_code == 0, result.output
    assert "removed 1 old model(s) (keep_models = 4)" in result.stderr
    assert sorted(p.name for p in (device_dir / "models").iterdir()) == \
        sorted(Path(_model_link(m)).name for m in [*good[1:], remote_models["big"]])


def test_interrupt_during_the_benchmark_is_counted_as_after_activating(sshd, device_args, remote_models, tmp_path):
    device_dir = tmp_path / "device"
    flags = [*device_args(sshd, device_dir)[:-4], "--runs", "100000000", "--warmup", "0"]
    run = _edgekit("deploy", remote_models["a"], *flags)
    try:
        _wait_for(lambda: _link(device_dir, "current") == _model_link(remote_models["a"])
                  and agent_pids(str(device_dir)), 60, "the switch (the benchmark comes right after it)")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, err
    assert "the new model is active" in err
    assert "interrupted: 0 of 1 device(s) done, 1 stopped after activating, 0 stopped before activating, " \
           "0 not started" in out, out
    assert _link(device_dir, "current") == _model_link(remote_models["a"])
    _wait_for(lambda: not agent_pids(str(device_dir)), 10, "the agent to be gone")


def test_a_device_without_a_record_starts_one_from_its_files(cli, sshd, user_key, known_hosts, remote_models,
                                                             tmp_path):
    """A device deployed before the record existed: what it stores ranks by modification time, once."""
    device_dir = tmp_path / "device"
    (tmp_path / "edgekit.toml").write_text(
        f'[devices.pi]\nhost = "{sshd.spec}"\ntarget = "local"\nremote_python = "{sys.executable}"\n'
        f'remote_dir = "{device_dir}"\nkeep_models = 3\n')
    flags = ["--device", "pi", "-i", user_key, "--known-hosts", known_hosts, "--no-bench"]
    for model in "abc":
        assert cli("deploy", remote_models[model], *flags).exit_code == 0
    (device_dir / "record.json").unlink()
    # the older file is the one a ranking by name would keep: only the times can make it go
    older, newer = sorted("ab", key=lambda m: file_sha256(remote_models[m]))
    now = time.time()
    for age, model in ((300, older), (200, newer)):
        os.utime(device_dir / _model_link(remote_models[model]), (now - age, now - age))
    assert cli("deploy", remote_models["d"], *flags).exit_code == 0
    assert sorted(p.name for p in (device_dir / "models").iterdir()) == \
        sorted(Path(_model_link(remote_models[m])).name for m in (newer, "c", "d"))
    assert sorted(json.loads((device_dir / "record.json").read_text())["models"]) == \
        sorted(file_sha256(remote_models[m]) for m in (newer, "c", "d"))
