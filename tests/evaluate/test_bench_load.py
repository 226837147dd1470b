"""``edgekit bench --delegate`` and the agent's one-line warning when the machine is loaded."""

from __future__ import annotations

import os

from helpers.agent_support import bench_models  # noqa: F401
from edgekit.agent.edgekit_agent import load_note, usable_cpus


def test_load_note_only_beyond_the_usable_cpus():
    assert load_note(1.9, 2) is None and load_note(2.0, 2) is None
    note = load_note(5.8, 2)
    assert note.startswith("machine loaded: load average 5.8 on 2 usable CPU(s)") and "\n" not in note


def test_bench_reports_the_load_it_measured_under(cli, bench_models):
    result = cli("bench", bench_models["int8"], "--runs", "5")
    assert result.exit_code == 0
    loaded = os.getloadavg()[0] > usable_cpus()   # read right after: the 1-minute average barely moves
    assert ("machine loaded: load average" in result.stdout) == loaded or abs(os.getloadavg()[0] - usable_cpus()) < 0.5


def test_bench_delegate_that_cannot_load_is_one_line(cli, bench_models):
    result = cli("bench", bench_models["int8"], "--delegate", "libno_such_delegate.so")
    assert result.exit_code != 0 and "delegate library libno_such_delegate.so could not be loaded" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("edgekit: error")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
