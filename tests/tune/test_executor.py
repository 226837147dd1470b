"""The local executor with real worker processes: results, errors, a killed worker, a timeout, threads."""

from __future__ import annotations

import os
import signal
import time

import jobs
from edgekit.tune.executor import Job
from edgekit.tune.local_executor import LocalExecutor

FN = jobs.__name__


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
        while not pidfile.exists() and time.monotonic() < deadline:
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
