"""The local executor with real worker processes: results, errors, a killed worker, a timeout, threads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jobs
from processes import alive, descendants, wait_for_line, wait_gone

from edgekit.tune.executor import Job
from edgekit.tune.local_executor import LocalExecutor

FN = jobs.__name__
HERE = Path(__file__).resolve().parent

# A driver with two workers, each running a job that started a subprocess: what `edgekit tune --workers 2`
# is while trials benchmark.
DRIVER = f"""
import sys, time
from edgekit.tune.executor import Job
from edgekit.tune.local_executor import LocalExecutor
executor = LocalExecutor(workers=2)
for number, pidfile in enumerate(sys.argv[1:]):
    executor.submit(Job(number, "{FN}:sleep_with_a_child", {{"pidfile": pidfile}}))
time.sleep(3600)
"""


def run_all(executor, job_list):
    for job in job_list:
        executor.submit(job)
    outcomes = {}
    while len(outcomes) < len(job_list):
        outcomes.update({o.number: o for o in executor.wait(timeout=30)})
    return outcomes


def test_results_errors_and_thread_share():
    with LocalExecutor(workers=2, cpus=4) as executor:
        outcomes = run_all(executor, [Job(0, f"{FN}:echo", {"x": 1}), Job(1, f"{FN}:fail", {"name": "r1"})])
    assert outcomes[0].ok and outcomes[0].result["payload"] == {"x": 1}
    assert outcomes[0].result["pid"] != os.getpid()
    assert outcomes[0].result["threads"] == {"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "2"}
    assert not outcomes[1].ok and outcomes[1].error == "ValueError: bad recipe r1"


def test_a_killed_worker_and_a_timeout_are_failed_outcomes_and_the_others_finish(tmp_path):
    pidfile = tmp_path / "pid"
    with LocalExecutor(workers=3) as executor:
        executor.submit(Job(0, f"{FN}:sleep", {"pidfile": str(pidfile), "seconds": 60}))
        executor.submit(Job(1, f"{FN}:sleep", {"pidfile": str(tmp_path / "p1"), "seconds": 60}, timeout_s=2))
        executor.submit(Job(2, f"{FN}:echo", {}))
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:  # written, not just made
            time.sleep(0.1)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        outcomes = {}
        while len(outcomes) < 3:
            outcomes.update({o.number: o for o in executor.wait(timeout=30)})
    assert outcomes[0].error == "worker killed by signal 9 before the trial finished"
    assert outcomes[1].error.startswith("trial timed out after 2 s")
    assert outcomes[2].ok


def test_one_worker_keeps_tensorflow_default_threads():
    with LocalExecutor(workers=1) as executor:
        outcome = run_all(executor, [Job(0, f"{FN}:echo", {})])[0]
    assert outcome.result["threads"]["TF_NUM_INTRAOP_THREADS"] == os.environ.get("TF_NUM_INTRAOP_THREADS")


def test_bench_lock_serialises_benchmarks_on_one_device_but_not_on_two(tmp_path):
    locks = str(tmp_path / "locks")
    with LocalExecutor(workers=3, cpus=3) as executor:
        outcomes = run_all(executor, [Job(i, f"{FN}:hold_bench_lock",
                                          {"locks": locks, "device": dev, "seconds": 1.5})
                                      for i, dev in enumerate(["pi@10.0.0.2", "pi@10.0.0.2", "local"])])
    a, b, other = (outcomes[i].result for i in range(3))
    assert a["end"] <= b["start"] or b["end"] <= a["start"]  # one device: one benchmark at a time
    assert any(other["start"] < r["end"] and r["start"] < other["end"] for r in (a, b))  # another device overlaps


def test_workers_and_their_subprocesses_die_with_a_driver_killed_by_sigkill(tmp_path):
    pidfiles = [tmp_path / "0.pid", tmp_path / "1.pid"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, *map(str, pidfiles)], env=env)
    try:
        (worker, child), (other, other_child) = ([int(pid) for pid in wait_for_line(f)] for f in pidfiles)
        tree = descendants(driver.pid)
        assert {worker, child, other, other_child} <= tree
        # worker 0 without its sentinel: the parent-death signal alone must end it
        sentinel, = [pid for pid in descendants(worker) if pid != child]
        os.kill(sentinel, signal.SIGKILL)
        assert not wait_gone({sentinel}, timeout=5)
    finally:
        driver.kill()
        driver.wait(timeout=30)
    assert not wait_gone({worker}, timeout=5), "the parent-death signal did not end the worker"
    assert not wait_gone(tree - {child}, timeout=5), "a process of the killed driver still runs"
    if alive(child):  # its worker's sentinel was killed above: nothing was left to stop it
        os.kill(child, signal.SIGKILL)


def test_a_timed_out_worker_is_stopped_with_its_subprocesses(tmp_path):
    pidfile = tmp_path / "pid"
    with LocalExecutor(workers=1) as executor:
        executor.submit(Job(0, f"{FN}:sleep_with_a_child", {"pidfile": str(pidfile)}, timeout_s=3))
        worker, child = (int(pid) for pid in wait_for_line(pidfile))
        outcomes = []
        while not outcomes:
            outcomes = executor.wait(timeout=30)
    outcome, = outcomes
    assert outcome.error.startswith("trial timed out after 3 s")
    assert not wait_gone({worker, child}, timeout=5), "the timed-out worker's subprocess still runs"
