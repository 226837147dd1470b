"""RayExecutor against a real Ray cluster started here: a head and a worker node, 1 CPU each, on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processes import wait_for_line, wait_gone
from ray_support import LocalRayCluster, free_port

from edgekit.errors import ClusterError, UsageError
from edgekit.tune.executor import Job

if importlib.util.find_spec("ray") is None:
    pytest.skip("ray is not installed (pip install 'edgekit[tune]')", allow_module_level=True)


@pytest.fixture(scope="module")
def cluster():
    """The cluster, and this process's environment pointed at it before ray is first imported here
    (ray reads its auth settings and RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER when it is imported)."""
    assert "ray" not in sys.modules, "ray was imported before the cluster's environment was set"
    with LocalRayCluster(cpus=(1, 1)) as running:
        saved = dict(os.environ)
        os.environ.update(running.env)
        try:
            yield running
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="module")
def executor(cluster):
    from edgekit.tune.ray_executor import RayExecutor

    with RayExecutor(cluster.address, cpus_per_trial=1) as ex:
        yield ex


def drain(executor, count: int, timeout: float = 120) -> dict[int, object]:
    """The outcomes of ``count`` jobs, by trial number."""
    got, end = {}, time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < end, f"only {sorted(got)} of {count} jobs ended"
        for outcome in executor.wait(timeout=5):
            got[outcome.number] = outcome
    return got


def wait_for_pid(path: Path, timeout: float = 60) -> int:
    """The pid a job's pid file starts with."""
    return int(wait_for_line(path, timeout)[0])


def test_jobs_run_on_both_nodes_with_one_thread_each(executor):
    assert executor.slots == 2
    for n in range(4):
        executor.submit(Job(n, "ray_jobs:square", {"x": n}))
    outcomes = drain(executor, 4)
    assert {n: o.result["square"] for n, o in outcomes.items()} == {0: 0, 1: 1, 2: 4, 3: 9}
    assert all(o.ok and o.result["threads"] == "1" for o in outcomes.values())
    assert len({o.result["pid"] for o in outcomes.values()}) <= 2, "workers are reused between trials"


def test_a_raising_job_is_one_failed_outcome_and_the_others_complete(executor):
    executor.submit(Job(10, "ray_jobs:fail", {"x": 10}))
    executor.submit(Job(11, "ray_jobs:square", {"x": 11}))
    outcomes = drain(executor, 2)
    assert outcomes[10].error == "ValueError: trial 10 has no square"
    assert outcomes[11].result["square"] == 121


def test_a_killed_worker_fails_its_job_and_later_jobs_still_run(executor, tmp_path):
    pidfile = tmp_path / "worker.pid"
    executor.submit(Job(20, "ray_jobs:sleep_forever", {"pidfile": str(pidfile)}))
    executor.submit(Job(21, "ray_jobs:square", {"x": 21}))
    pid = wait_for_pid(pidfile)
    os.kill(pid, signal.SIGKILL)
    outcomes = drain(executor, 2)
    assert not outcomes[20].ok and "died" in outcomes[20].error and "\n" not in outcomes[20].error
    assert outcomes[21].result["square"] == 441
    executor.submit(Job(22, "ray_jobs:square", {"x": 22}))
    assert drain(executor, 1)[22].result["square"] == 484


def test_a_job_past_its_timeout_is_stopped_and_fails(executor, tmp_path):
    pidfile = tmp_path / "worker.pid"
    executor.submit(Job(30, "ray_jobs:sleep_forever", {"pidfile": str(pidfile)}, timeout_s=4))
    pid = wait_for_pid(pidfile)
    started = time.monotonic()
    outcome = drain(executor, 1)[30]
    assert outcome.error == "timed out after 4 s (its Ray worker was stopped)"
    assert time.monotonic() - started < 20
    assert not wait_gone({pid}, timeout=30), "the timed-out trial's worker still runs"
    executor.submit(Job(31, "ray_jobs:square", {"x": 31}))
    assert drain(executor, 1)[31].ok


# A driver that submits one never-ending trial and then waits: what `edgekit tune --ray` is while a trial runs.
DRIVER = """
import sys, time
from edgekit.tune.executor import Job
from edgekit.tune.ray_executor import RayExecutor
executor = RayExecutor(sys.argv[1])
executor.submit(Job(0, "jobs:sleep_with_a_child", {"pidfile": sys.argv[2]}))
time.sleep(3600)
"""


def test_ray_kills_the_running_trial_of_a_driver_killed_by_sigkill(cluster, tmp_path):
    pidfile = tmp_path / "worker.pid"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, cluster.address, str(pidfile)], env=cluster.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        worker, child = map(int, wait_for_line(pidfile))
        # checked while the driver lives: once it is killed, Ray ends the worker (0.1 s measured)
        assert worker in cluster.pids(), "the trial does not run in a worker of the cluster"
    finally:
        driver.kill()
        driver.wait(timeout=30)
    assert not wait_gone({worker, child}, timeout=5), "the trial's Ray worker or its subprocess outlived the driver"


def test_relative_paths_mean_what_they_mean_to_the_driver(executor, tmp_path, monkeypatch):
    (tmp_path / "input.txt").write_text("seen by the worker")
    monkeypatch.chdir(tmp_path)
    executor.submit(Job(45, "ray_jobs:read_file", {"path": "input.txt"}))
    assert drain(executor, 1)[45].result == {"text": "seen by the worker"}


def test_a_path_the_node_cannot_see_names_the_node_and_the_shared_filesystem(executor, tmp_path):
    executor.submit(Job(40, "ray_jobs:read_file", {"path": str(tmp_path / "not-shared.toml")}))
    error = drain(executor, 1)[40].error
    assert error.startswith("FileNotFoundError:") and "not-shared.toml" in error
    assert "on node 127.0.0.1" in error and "same path" in error


def test_the_cluster_and_the_driver_listen_on_loopback_only(cluster, executor):
    ours = set(cluster.pids()) | {os.getpid()}
    listening = subprocess.run(["ss", "-ltnupH"], capture_output=True, text=True, check=True).stdout.splitlines()
    mine = [line for line in listening if any(f"pid={pid}," in line for pid in ours)]
    assert mine, "found no listening socket of the cluster"
    for line in mine:
        local = line.split()[4]
        assert local.startswith(("127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:")), line


def test_an_unreachable_address_is_one_line_naming_it_and_how_to_start_a_cluster(cluster):
    from edgekit.tune.ray_executor import RayExecutor

    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError) as err:
        RayExecutor(address)
    message = str(err.value)
    assert address in message and "ray start --head" in message and "\n" not in message
    assert err.value.exit_code == 3
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("address", ["auto", "local", "ray://10.0.0.5:10001", "10.0.0.5"])
def test_only_an_explicit_host_and_port_is_accepted(address):
    from edgekit.tune.ray_executor import parse_address

    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_address(address)


@pytest.mark.slow
def test_a_tune_study_on_the_cluster_fails_the_killed_trial_completes_and_matches_local_trials(
        cluster, tmp_path, digits_train, digits_val):
    from helpers.tune_support import start_tune, study, tune_toml, wait_for

    out = tmp_path / "out"
    config = tune_toml(tmp_path / "study", digits_train, digits_val)
    proc = start_tune(config, "--ray", cluster.address, "--trials", "2", "--out", out, env=cluster.env)
    pidfile = out / "trials" / "0001" / "worker.pid"
    wait_for(pidfile, proc)
    pid = wait_for_pid(pidfile)
    assert pid in cluster.pids(), "the trial does not run in a worker of the cluster"
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    document = study(out)
    assert document["executor"] == "ray" and document["trials_done"] == 2 and document["trials_failed"] == 1
    killed, other = document["trials"][1], document["trials"][0]
    assert killed["state"] == "FAIL"
    assert killed["error"] == "the Ray worker running the trial died (killed or crashed) before it finished"
    assert other["state"] == "COMPLETE" and document["chosen"] == 0
    assert "FAILED: the Ray worker running the trial died" in stderr
    assert (out / "model.tflite").exists()

    # the executor does not change what a trial computes: the completed recipe, run again by the
    # local executor with the same thread count (and a cache of its own), gives the same bytes
    from edgekit.pipeline.config import load_config
    from edgekit.tune import trial as trial_mod
    from edgekit.tune.local_executor import LocalExecutor
    from edgekit.tune.reach import trained_to_the_bound
    from edgekit.tune.space import recipe

    steps, convert = recipe(other["params"])
    again = tmp_path / "local"
    with LocalExecutor(workers=2, cpus=2) as local:
        # the study's config is the file's with its trials trained to the bound (no budgets on the command line)
        study_config = trained_to_the_bound(load_config(config))
        local.submit(Job(0, trial_mod.FUNCTION, trial_mod.payload(config, again / "trial", again / "cache",
                                                                   again / "locks", steps, convert, study_config)))
        rerun = drain(local, 1)[0]
    assert rerun.ok, rerun.error
    assert rerun.result["sha256"] == other["result"]["sha256"]
    assert rerun.result["accuracy"] == other["result"]["accuracy"]


def test_tune_with_an_unreachable_cluster_is_one_error_line(cluster, tmp_path, digits_train, digits_val):
    from helpers.support import run_edgekit
    from helpers.tune_support import tune_toml

    address = f"127.0.0.1:{free_port()}"
    run = run_edgekit("tune", tune_toml(tmp_path / "study", digits_train, digits_val), "--ray", address,
                      "--out", tmp_path / "out", env=cluster.env, timeout=120)
    assert run.returncode == 3
    assert run.stderr.strip().splitlines() == [
        f"edgekit: error: --ray {address}: no Ray cluster reachable there ([Errno 111] Connection refused); "
        "start one with `ray start --head --port=6379` (docs/ray.md)"]


def test_a_study_on_the_cluster_prunes_through_the_shared_study_database(cluster, tmp_path, digits_train,
                                                                         digits_val):
    from helpers.support import run_edgekit
    from helpers.tune_support import collapsing_toml, study

    out = tmp_path / "out"
    config = collapsing_toml(tmp_path / "study", digits_train, digits_val)
    run = run_edgekit("tune", config, "--ray", cluster.address, "--trials", "2", "--no-seed-recipes", "--out", out,
                      env=cluster.env, timeout=900)
    assert run.returncode == 21, run.stderr        # every trial collapsed: none meets the budget
    document = study(out)
    assert document["executor"] == "ray" and document["trials_done"] == 2
    assert document["trials_pruned"] >= 1 and document["trials_failed"] == 0
    for trial in document["trials"]:
        if trial["state"] == "PRUNED":
            assert trial["pruned"]["epoch"] == 1 and "below chance" in trial["pruned"]["why"]
    assert run.stderr.count("-> PRUNED after epoch 1") == document["trials_pruned"]
