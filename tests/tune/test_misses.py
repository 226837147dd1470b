"""A trial's outcome names the budget it misses and by how much, in the budget's own terms."""

from __future__ import annotations

import pytest

from edgekit.pipeline.budgets import check_budgets
from edgekit.tune.misses import missed, outcome_text
from edgekit.tune.study import TrialRecord


def judged(limits: dict, measured: dict, off_target=()) -> list[dict]:
    """The verdicts as a trial reports them (edgekit.tune.trial), judged by the build's own budget check."""
    return [{"name": v.name, "limit": v.limit, "value": v.value, "ok": v.ok, "off_target": v.off_target,
             "line": v.line()} for v in check_budgets(limits, measured, off_target=off_target)]


@pytest.mark.parametrize("limits, measured, phrase", [
    ({"min_accuracy": 0.9}, {"min_accuracy": 0.8765}, "min_accuracy 90% by 2.4 pt"),
    ({"max_accuracy_drop": 0.01}, {"max_accuracy_drop": 0.033},
     "max_accuracy_drop 1.0 pt by 2.3 pt (accuracy 95.1%, float 98.4%)"),
    ({"max_size_kb": 10}, {"max_size_kb": 13.2}, "max_size_kb 10 KB by 3.2 KB"),
    ({"max_gzip_kb": 24}, {"max_gzip_kb": 25.02}, "max_gzip_kb 24 KB by 1.0 KB"),
    ({"max_latency_ms": 2.0}, {"max_latency_ms": 2.4}, "max_latency_ms 2 ms by 0.4 ms"),
    ({"max_latency_ms": 0.005}, {"max_latency_ms": 0.0081}, "max_latency_ms 0.005 ms by 0.0031 ms"),
    ({"max_mae": 0.1}, {"max_mae": 0.125}, "max_mae 0.1 by 0.025"),
    ({"max_arena_kb": 32}, {"max_arena_kb": None}, "max_arena_kb not measured"),
])
def test_a_missed_budget_is_named_with_its_limit_and_gap(limits, measured, phrase):
    result = {"accuracy": 0.951, "baseline_accuracy": 0.984, "verdicts": judged(limits, measured)}
    assert missed(result) == [phrase]


def test_met_and_off_target_budgets_are_not_missed_and_several_misses_are_all_named():
    limits = {"max_gzip_kb": 24, "min_accuracy": 0.9, "max_latency_ms": 1.0}
    result = {"accuracy": 0.85, "verdicts": judged(limits, {"max_gzip_kb": 30, "min_accuracy": 0.85,
                                                            "max_latency_ms": 9.0}, off_target=["max_latency_ms"])}
    record = TrialRecord(3, "COMPLETE", {}, [0.85, 30.0], [0.25, 0.06, 0.0], result)
    assert outcome_text(record.to_dict()) == "misses max_gzip_kb 24 KB by 6.0 KB; min_accuracy 90% by 5.0 pt"
    met = {"accuracy": 0.95, "verdicts": judged({"min_accuracy": 0.9}, {"min_accuracy": 0.95})}
    assert outcome_text(TrialRecord(4, "COMPLETE", {}, [0.95, 3.0], [-0.05], met).to_dict()) == "meets every budget"


def test_pruned_failed_and_cut_off_trials_say_why():
    pruned = TrialRecord(5, "PRUNED", {}, pruned={"epoch": 2, "accuracy": 0.41, "why": "behind the median"})
    assert outcome_text(pruned.to_dict()) == "PRUNED after epoch 2 (val acc 41.0%: behind the median)"
    failed = TrialRecord(6, "FAIL", {}, error="worker killed by signal 9 before the trial finished")
    assert outcome_text(failed.to_dict()) == "FAILED: worker killed by signal 9 before the trial finished"
    stale = TrialRecord(7, "FAIL", {}, error="cut off (study stopped); re-run", stale=True)
    assert outcome_text(stale.to_dict()) == "cut off when the study stopped; run again"
