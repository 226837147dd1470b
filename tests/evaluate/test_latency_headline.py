"""Latency you can trust: the p50 is the headline figure, and `compare` knows the runs' noise."""

from __future__ import annotations

import copy
import json
import math

import pytest

from edgekit.agent.runner import run_local
from edgekit.results import ResultStore
from edgekit.results.report import fmt_ms, noise_ms, render_bench, render_history


@pytest.fixture(scope="module")
def runs(bench_models) -> dict:
    return {kind: run_local(bench_models[kind], runs=30, warmup=2) for kind in ("float32", "int8")}


def test_compare_calls_a_change_within_the_runs_spread_noise(cli, runs, tmp_path):
    store = ResultStore(tmp_path / "results.db")
    a = runs["int8"]
    noise = noise_ms(a, a)
    spread, n = a["timing_ms"]["p90"] - a["timing_ms"]["p50"], a["timing_ms"]["runs"]
    assert noise == pytest.approx(max(2 * math.sqrt(2) * 1.2533 * spread / 1.2816 / math.sqrt(n), 0.0001))
    # the same model again, its p50 up by half the noise width (the last reported digit when the runs spread
    # widely; at the 0.0001 ms floor a bump of exactly the floor compared equal and flaked); then by 3 noise widths
    reruns = []
    for bump in (noise / 2, 3 * noise):
        reruns.append(copy.deepcopy(a))
        reruns[-1]["timing_ms"]["p50"] = a["timing_ms"]["p50"] + bump
        store.record(reruns[-1], target="local", host="local")
    store.record(a, target="local", host="local")
    small = {m["name"]: m for m in json.loads(cli("compare", "3", "1", "--json").stdout)["metrics"]}["p50"]
    assert small["noise"] == pytest.approx(noise_ms(a, reruns[0]))
    assert small["within_noise"] and small["better"] is None
    text = cli("compare", "3", "1").stdout
    assert "≈ within noise" in next(line for line in text.splitlines() if line.startswith("p50 (ms)"))
    assert f"noise threshold {fmt_ms(small['noise'])} ms: twice the standard error" in text
    large = {m["name"]: m for m in json.loads(cli("compare", "3", "2", "--json").stdout)["metrics"]}["p50"]
    assert not large["within_noise"] and large["better"] == "a"  # B is slower, beyond the noise
    assert "↑ worse" in next(line for line in cli("compare", "3", "2").stdout.splitlines() if line.startswith("p50"))


def test_history_and_bench_lead_with_the_p50(runs, tmp_path):
    store = ResultStore(tmp_path / "results.db")
    store.record(runs["int8"], target="local", host="local")
    header = render_history(store.runs()).splitlines()[0].split()
    assert header.index("p50") < header.index("p90") < header.index("mean")
    lines = render_bench(runs["int8"]).splitlines()
    inference = lines.index(next(line for line in lines if line.startswith("Inference")))
    assert lines[inference + 1].split()[0] == "p50" and lines[inference + 2].split()[0] == "mean"


def test_demo_table_headline_is_the_p50():
    from edgekit.cli.demo import render_table

    rows = [{"name": name, "size_bytes": size, "accuracy": 0.98, "peak_rss_mb": 48.0,
             "latency_ms": {"p50": p50, "p90": p90, "mean": mean}}
            for name, size, p50, p90, mean in (("float32", 600, 0.0325, 0.0342, 0.0362),
                                               ("int8", 160, 0.0111, 0.0115, 0.0112))]
    table = render_table(rows).splitlines()
    assert table[0].split()[4:6] == ["p50", "(ms)"]
    assert table[1].split()[3] == "0.0325" and table[3].split()[4] == f"{0.0111 / 0.0325:.2f}x"
