"""Better/worse only beyond a noise estimate (compare, the build report's trend), and the report's
latency distribution drawn from the agent's per-run samples."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from helpers.agent_support import bench_models  # noqa: F401
from edgekit.agent.runner import run_local
from edgekit.pipeline.report import _latency, _trend
from edgekit.results import ResultStore
from edgekit.results.report import PER_INFERENCE, noise_ms


@pytest.fixture(scope="module")
def runs(bench_models) -> list[dict]:
    """Two real benchmarks of the same int8 model, and one of the float32 model."""
    return [run_local(bench_models[kind], runs=30, warmup=2) for kind in ("int8", "int8", "float32")]


def test_compare_judges_only_figures_with_a_noise_estimate(cli, runs, tmp_path):
    store = ResultStore(tmp_path / "results.db")   # the `cli` fixture points edgekit at this file
    for result in runs:
        store.record(result, target="local", host="local")
    for a, b in (("1", "2"), ("1", "3")):
        metrics = {m["name"]: m for m in json.loads(cli("compare", a, b, "--json").stdout)["metrics"]}
        for name in ("init", "first inference", "init footprint", "overall footprint", "peak RSS"):
            assert metrics[name]["noise"] is None and metrics[name]["better"] is None, metrics[name]
        for name in PER_INFERENCE:
            m = metrics[name]
            assert m["noise"] == pytest.approx(noise_ms(runs[0], runs[int(b) - 1]))
            assert (m["better"] is None) == (abs(m["delta"]) <= m["noise"]), m
        lines = {line.split(" (")[0]: line for line in cli("compare", a, b).stdout.splitlines() if " (" in line}
        for name in ("init", "first inference", "peak RSS"):
            assert not re.search("better|worse|noise|same", lines[name]), lines[name]


def entry(run: dict, **changes) -> dict:
    timing = run["timing_ms"]
    return {"built_at": "2026-01-01T00:00:00Z", "config": "c", "config_sha256": "s", "metric": "accuracy",
            "value": 0.9, "size_bytes": 1000, "gzip_bytes": 500, "p50_ms": timing["p50"], "p90_ms": timing["p90"],
            "runs": timing["runs"], **changes}


def p50_cell(html: str, row: int) -> str:
    """The p50 cell of table row ``row`` (0: the header)."""
    return re.findall(r"<tr>(.*?)</tr>", html)[row].split("<td class='num'>")[4]


def test_trend_colours_a_p50_change_only_beyond_the_noise(runs):
    base = entry(runs[0])
    noise = noise_ms(runs[0], runs[0])
    tiny = entry(runs[0], p50_ms=base["p50_ms"] + noise / 2)
    slow = entry(runs[0], p50_ms=base["p50_ms"] + noise * 3, size_bytes=900)
    html = _trend([base, tiny, slow])
    assert "class='muted'" in p50_cell(html, 2) and "class='bad'" in p50_cell(html, 3)
    assert "class='ok'" in html.split("<td class='num'>")[-4]   # the smaller size is better: exact, no noise
    no_spread = {k: v for k, v in tiny.items() if k != "p90_ms"}   # an entry from before spreads were kept
    assert "class='muted'" in p50_cell(_trend([base, {**no_spread, "p50_ms": base["p50_ms"] * 2}]), 2)


def test_latency_panel_is_a_histogram_of_the_samples(runs):
    result = runs[2]
    samples = result["samples_ms"]
    assert len(samples) == result["timing_ms"]["runs"] == 30
    assert np.percentile(samples, 50) == pytest.approx(result["timing_ms"]["p50"], abs=1e-4)
    html = _latency(result, "local")
    heights = [float(h) for h in re.findall(r"<rect [^>]*height='([\d.]+)' rx='2'", html)]
    assert len(heights) == 24 and "Histogram of the 30 timed runs" in html
    drawn = [s for s in samples if s <= result["timing_ms"]["p99"]]
    counts, _ = np.histogram(drawn, bins=24, range=(min(samples), result["timing_ms"]["p99"]))
    assert f"{len(samples) - len(drawn)} run(s) slower than p99" in html
    assert np.argmax(heights) == np.argmax(counts) and heights.count(0.0) == int((counts == 0).sum())
