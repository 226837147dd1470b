"""Budgets as constraints, the Pareto set and the choice of the smallest model that meets every budget."""

from __future__ import annotations

from edgekit.tune.objectives import Objectives, constraints, feasible, pareto
from edgekit.tune.study import TrialRecord, choose


def verdict(name, limit, value, off_target=False):
    return {"name": name, "limit": limit, "value": value, "off_target": off_target}


def test_constraints_are_relative_gaps_met_at_or_below_zero():
    values = constraints([verdict("min_accuracy", 0.9, 0.95), verdict("max_gzip_kb", 10, 12),
                          verdict("max_latency_ms", 1, 5, off_target=True), verdict("max_size_kb", 5, None)])
    assert values[0] < 0 and values[1] == 0.2 and values[2] == 0.0 and values[3] == 1.0
    assert not feasible(values) and feasible(values[:1] + values[2:3])
    assert feasible(constraints([verdict("min_accuracy", 0.9, 0.9)]))  # on the limit is met


def test_objectives_follow_the_size_and_latency_settings():
    result = {"accuracy": 0.99, "gzip_bytes": 2048, "size_bytes": 4096, "p50_ms": 0.5}
    assert Objectives("gzip").values(result) == [0.99, 2.0]
    assert Objectives("raw", latency=True).values(result) == [0.99, 4.0, 0.5]
    assert Objectives("raw", latency=True).directions == ["maximize", "minimize", "minimize"]


def test_pareto_keeps_only_non_dominated_points():
    points = [(0, [0.99, 10.0]), (1, [0.98, 5.0]), (2, [0.97, 6.0]), (3, [0.99, 12.0]), (4, [0.99, 10.0])]
    assert pareto(points, ["maximize", "minimize"]) == [0, 1, 4]


def record(number, accuracy, gzip_kb, ok=True, state="COMPLETE"):
    result = {"accuracy": accuracy, "gzip_bytes": gzip_kb * 1024, "size_bytes": gzip_kb * 4096}
    return TrialRecord(number, state, {}, [accuracy, gzip_kb], [-0.1 if ok else 0.3], result)


def test_the_chosen_model_is_the_smallest_that_meets_every_budget():
    records = [record(0, 0.99, 10), record(1, 0.95, 3, ok=False), record(2, 0.97, 5), record(3, 0.98, 5),
               TrialRecord(4, "FAIL", {}, error="worker killed")]
    assert choose(records, Objectives("gzip")) == 3  # 1 is smaller but misses a budget; 3 ties 2, more accurate
    assert choose(records[1:2], Objectives("gzip")) is None
