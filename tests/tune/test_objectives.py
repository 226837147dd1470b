"""Budgets as constraints, the Pareto set and the choice of the smallest model that meets every budget."""

from __future__ import annotations

from edgekit.tune.objectives import Objectives, constraints, feasible, pareto
from edgekit.tune.choice import closest
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


def timed(number, gzip_kb, p50, int8_p50=0.01, accuracy=0.99):
    """A trial that met every budget, with its p50 and the plain int8 model's p50 timed beside it."""
    result = {"accuracy": accuracy, "gzip_bytes": gzip_kb * 1024, "size_bytes": gzip_kb * 4096, "p50_ms": p50,
              "int8_p50_ms": int8_p50, "bench_where": "local"}
    return TrialRecord(number, "COMPLETE", {}, [accuracy, gzip_kb], [-0.1], result)


def test_a_much_slower_smallest_model_loses_to_a_comparable_one_that_is_not_slower():
    from edgekit.tune.choice import COMPARABLE, SLOWER, latency_note

    # trial 0 is the smallest but 7.5x the plain int8 model's p50 (int16x8); trial 1 is 10% larger at int8 speed;
    # the reference is the median of the trials' plain int8 timings (0.01)
    records = [timed(0, 10.0, 0.075), timed(1, 11.0, 0.0095, int8_p50=0.0105), timed(2, 30.0, 0.009)]
    assert 11.0 <= 10.0 * COMPARABLE and 0.075 > SLOWER * 0.01
    assert choose(records, Objectives("gzip")) == 1
    assert latency_note(records, 1) is None
    # with latency judged by a budget or an objective, size decides and the note says the chosen one is slow
    assert choose(records, Objectives("gzip", latency=True)) == 0
    note = latency_note(records, 0)
    assert note.startswith("note: the chosen trial 0 runs at p50 0.075 ms, 7.5x the plain int8 model's 0.01 ms")
    assert "\n" not in note


def test_a_slow_smallest_model_stays_chosen_when_nothing_comparable_is_faster_and_the_output_says_so():
    from edgekit.tune.choice import latency_note

    records = [timed(0, 10.0, 0.05), timed(1, 20.0, 0.01)]    # the fast one is twice the size: not comparable
    assert choose(records, Objectives("gzip")) == 0
    assert "5.0x the plain int8 model's 0.01 ms" in latency_note(records, 0)
    # timing noise within SLOWER is not "slower"
    noisy = [timed(0, 10.0, 0.012), timed(1, 11.0, 0.009)]
    assert choose(noisy, Objectives("gzip")) == 0 and latency_note(noisy, 0) is None


def test_when_none_meets_the_budgets_the_closest_misses_by_least():
    records = [TrialRecord(0, "COMPLETE", {}, [0.8, 9.0], [0.4, -0.2]), TrialRecord(1, "COMPLETE", {}, [0.9, 30.0],
               [0.05, 0.25]), TrialRecord(2, "COMPLETE", {}, [0.85, 12.0], [0.1, 0.2]),
               TrialRecord(3, "PRUNED", {}), TrialRecord(4, "FAIL", {}, error="worker killed")]
    assert closest(records) == 2   # its worst gap (20%) is the smallest
    assert closest(records[3:]) is None
