"""Budget verdicts: each limit checked, each violation its own exit code, all violations printed."""

from __future__ import annotations

import pytest

from edgekit.pipeline.budgets import (BUDGETS, NOT_MEASURED_CODE, TIMING_BUDGETS, BudgetExceeded, check_budgets, enforce,
                                     passed)

MEASURED = {"max_size_kb": 71.3, "max_gzip_kb": 40.0, "min_accuracy": 0.95, "max_accuracy_drop": 0.01,
            "max_latency_ms": 0.8, "max_p90_ms": 1.1, "max_peak_memory_mb": 300.0, "max_arena_kb": 10.2}


def test_exit_codes_are_distinct_and_documented_from_10():
    codes = [code for code, _, _ in BUDGETS.values()]
    assert len(set(codes)) == len(codes) and min(codes) == 10
    assert NOT_MEASURED_CODE not in codes


def test_all_within_limits_pass():
    verdicts = check_budgets({"max_size_kb": 80, "min_accuracy": 0.9, "max_arena_kb": 16}, MEASURED)
    assert [v.name for v in verdicts] == ["max_size_kb", "min_accuracy", "max_arena_kb"]
    assert all(v.ok for v in verdicts)
    assert verdicts[0].line() == "budget max_size_kb: 71.3 <= 80 ok"
    enforce(verdicts)  # no exception


@pytest.mark.parametrize("name, limit, line", [
    ("max_size_kb", 64, "budget max_size_kb: 71.3 > 64"),
    ("max_gzip_kb", 32, "budget max_gzip_kb: 40 > 32"),
    ("min_accuracy", 0.97, "budget min_accuracy: 0.95 < 0.97"),
    ("max_accuracy_drop", 0.005, "budget max_accuracy_drop: 0.01 > 0.005"),
    ("max_latency_ms", 0.5, "budget max_latency_ms: 0.8 > 0.5"),
    ("max_p90_ms", 1, "budget max_p90_ms: 1.1 > 1"),
    ("max_peak_memory_mb", 256, "budget max_peak_memory_mb: 300 > 256"),
    ("max_arena_kb", 8, "budget max_arena_kb: 10.2 > 8"),
])
def test_each_violation_has_its_own_code_and_line(name, limit, line):
    verdicts = check_budgets({name: limit}, MEASURED)
    with pytest.raises(BudgetExceeded) as info:
        enforce(verdicts)
    assert info.value.exit_code == BUDGETS[name][0]
    assert str(info.value) == line


def test_several_violations_first_code_all_lines():
    limits = {"max_arena_kb": 8, "max_size_kb": 64, "min_accuracy": 0.5}
    with pytest.raises(BudgetExceeded) as info:
        enforce(check_budgets(limits, MEASURED))
    assert info.value.exit_code == BUDGETS["max_size_kb"][0]  # table order, not file order
    assert str(info.value) == "budget max_size_kb: 71.3 > 64; budget max_arena_kb: 10.2 > 8"


def test_unmeasured_budget_fails_with_its_reason():
    verdicts = check_budgets({"max_latency_ms": 5}, {"max_latency_ms": None},
                             {"max_latency_ms": "the agent found no runtime"})
    assert not verdicts[0].ok and verdicts[0].code == NOT_MEASURED_CODE
    assert verdicts[0].line() == "budget max_latency_ms: not measured (the agent found no runtime)"


def test_off_target_measurements_are_shown_but_neither_ok_nor_failing():
    limits = {"max_size_kb": 80, "max_latency_ms": 0.5, "max_p90_ms": 2, "max_peak_memory_mb": 512}
    verdicts = check_budgets(limits, MEASURED, {name: "measured on local, not coral-usb" for name in TIMING_BUDGETS},
                             off_target=TIMING_BUDGETS)
    lines = [v.line() for v in verdicts]
    assert lines == ["budget max_size_kb: 71.3 <= 80 ok",
                     "budget max_latency_ms: 0.8 > 0.5 off-target, not checked (measured on local, not coral-usb)",
                     "budget max_p90_ms: 1.1 <= 2 off-target, not checked (measured on local, not coral-usb)",
                     "budget max_peak_memory_mb: 300 <= 512 off-target, not checked (measured on local, not coral-usb)"]
    assert passed(verdicts) and [v.to_dict()["off_target"] for v in verdicts] == [False, True, True, True]
    enforce(verdicts)  # the latency over its limit was measured elsewhere: it does not fail the build
    assert not passed(check_budgets(limits, MEASURED))  # on the target it does
