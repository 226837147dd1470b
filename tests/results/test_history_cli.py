"""The results store and ``edgekit history`` / ``edgekit compare`` on real recorded runs."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ProcessPoolExecutor

import pytest

from edgekit.agent.runner import run_local
from edgekit.results import ResultStore, RunTag, default_db_path
from edgekit.results.store import SCHEMA_VERSION


@pytest.fixture(scope="module")
def results(bench_models) -> dict:
    """Real agent results of the float32 and int8 models."""
    return {kind: run_local(bench_models[kind], runs=10, warmup=1) for kind in ("float32", "int8")}


@pytest.fixture
def recorded(results, tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "results.db")  # the `cli` fixture points edgekit at this file
    store.record(results["float32"], target="local", host="alpha")
    store.record(results["int8"], target="local", host="alpha")
    store.record(results["int8"], target="rpi4", host="pi-1")
    return store


def test_history_lists_newest_first_with_filters(cli, recorded):
    out = cli("history").stdout.splitlines()
    assert out[0].split()[:6] == ["id", "when", "(UTC)", "kind", "label", "target"]
    assert [line.split()[0] for line in out[1:]] == ["3", "2", "1"]

    by_target = json.loads(cli("history", "--target", "rpi4", "--json").stdout)
    assert [(r["id"], r["host"]) for r in by_target] == [(3, "pi-1")]
    by_model = json.loads(cli("history", "--model", "float_digits.tflite", "--json").stdout)
    assert [r["id"] for r in by_model] == [1]
    sha = by_target[0]["model_sha256"]
    assert [r["id"] for r in json.loads(cli("history", "--model", sha[:10], "--json").stdout)] == [3, 2]
    assert [r["id"] for r in json.loads(cli("history", "--host", "alpha", "--limit", "1", "--json").stdout)] == [2]


def test_history_json_schema(cli, recorded, results):
    run = json.loads(cli("history", "--json").stdout)[-1]
    assert set(run) == {"id", "created", "kind", "label", "target", "host", "model_name", "model_sha256",
                        "model_size", "runtime", "runtime_version", "threads", "mean_ms", "p50_ms", "p90_ms",
                        "peak_mb", "throttled"}
    assert (run["kind"], run["label"]) == ("bench", None)  # a plain store records benches, unnamed
    source = results["float32"]
    assert run["mean_ms"] == source["timing_ms"]["mean"] and run["peak_mb"] == source["memory_mb"]["peak_rss"]
    assert run["runtime"] == source["runtime"]["name"] and run["throttled"] is False


def test_history_names_runs_hides_trials_and_groups_builds(cli, results, tmp_path):
    store = ResultStore(tmp_path / "results.db")
    int8 = results["int8"]

    def record(kind: str | None = None, label: str | None = None) -> int:
        tagged = store.tagged(RunTag(kind, label)) if kind else store
        return tagged.record(int8, target="local", host="local")

    old_build = record("build", "build:app/edgekit.toml#int8")
    bench = record()
    trial = record("trial", "tune:study#trial-0")
    new_build = record("build", "build:app/edgekit.toml#int8")
    other = record("build", "build:web/edgekit.toml#optimized-int8")

    shown = cli("history")
    rows = [line.split() for line in shown.stdout.splitlines()[1:]]
    # newest first, the older build of a label right behind its newest one; the trial left out and counted
    assert [(int(r[0]), r[3], r[4]) for r in rows] == [
        (other, "build", "build:web/edgekit.toml#optimized-int8"),
        (new_build, "build", "build:app/edgekit.toml#int8"), (old_build, "build", "build:app/edgekit.toml#int8"),
        (bench, "bench", "-")]
    assert shown.stderr.strip() == "1 trial run(s) not shown; --all lists them"

    everything = cli("history", "--all", "--json")
    assert everything.stderr == ""
    assert [(r["id"], r["kind"], r["label"]) for r in json.loads(everything.stdout)] == [
        (other, "build", "build:web/edgekit.toml#optimized-int8"),
        (new_build, "build", "build:app/edgekit.toml#int8"), (old_build, "build", "build:app/edgekit.toml#int8"),
        (trial, "trial", "tune:study#trial-0"), (bench, "bench", None)]
    # the limit counts the runs shown; the hidden count follows the filters
    assert [r["id"] for r in json.loads(cli("history", "--limit", "2", "--json").stdout)] == [other, new_build]
    only_rpi = cli("history", "--target", "rpi4")
    assert only_rpi.stdout == "" and "trial run(s) not shown" not in only_rpi.stderr


def test_history_all_keeps_the_trial_runs_of_one_study_together(cli, results, tmp_path):
    """Two studies run side by side: their trials' runs interleave in time, not in the list."""
    store = ResultStore(tmp_path / "results.db")

    def trial(label: str) -> int:
        return store.tagged(RunTag("trial", label)).record(results["int8"], target="local", host="local")

    a0, b0, a1, b1 = trial("tune:a#trial-0"), trial("tune:b#trial-0"), trial("tune:a#trial-1"), trial("tune:b#trial-1")
    listed = json.loads(cli("history", "--all", "--json").stdout)
    assert [r["id"] for r in listed] == [b1, b0, a1, a0]


def test_a_run_kind_must_be_known():
    with pytest.raises(ValueError, match="not one of bench, deploy, build, trial"):
        RunTag("trail")


def test_history_empty(cli):
    result = cli("history")
    assert result.exit_code == 0 and result.stdout == "" and "no recorded runs" in result.stderr


def test_compare_shows_deltas_and_verdicts(cli, recorded, results):
    data = json.loads(cli("compare", "1", "2", "--json").stdout)
    assert data["a"]["id"] == 1 and data["b"]["id"] == 2
    size = next(m for m in data["metrics"] if m["name"] == "model size")
    a, b = results["float32"]["model"]["size_bytes"], results["int8"]["model"]["size_bytes"]
    assert (size["a"], size["b"], size["delta"]) == (a, b, b - a)
    assert size["percent"] == pytest.approx(100.0 * (b - a) / a) and size["better"] == "b"
    for metric in data["metrics"]:
        if metric["delta"] and metric["noise"] is not None and not metric["within_noise"]:
            assert metric["better"] == ("b" if metric["delta"] < 0 else "a")

    text = cli("compare", "1", "2").stdout
    size_line = next(line for line in text.splitlines() if line.startswith("model size"))
    assert f"{b - a:,}" in size_line and "↓ better" in size_line
    assert "A = run 1: float_digits.tflite" in text and "B = run 2: int8_digits.tflite" in text


def test_compare_unknown_run_exits_2(cli, recorded):
    result = cli("compare", "1", "99")
    assert result.exit_code == 2 and "run 99 is not in" in result.stderr


def _record_many(args) -> list[int]:
    path, result, n = args
    store = ResultStore(path)
    return [store.record(result, target="fleet", host=f"h{i}") for i in range(n)]


def test_parallel_writers_lose_nothing(results, tmp_path):
    """Fleet deploys record from several processes at once."""
    path = tmp_path / "results.db"
    with ProcessPoolExecutor(4) as pool:
        ids = [i for chunk in pool.map(_record_many, [(path, results["int8"], 25)] * 4) for i in chunk]
    assert sorted(ids) == list(range(1, 101))
    assert len(ResultStore(path).runs(limit=None, target="fleet")) == 100
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_default_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGEKIT_RESULTS_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "edgekit" / "results.db"
    assert ResultStore().path.is_file()


def test_a_foreign_file_is_a_clear_error(cli, tmp_path):
    (tmp_path / "results.db").write_text("not sqlite " * 200)
    result = cli("history")
    assert result.exit_code == 2 and "not a usable edgekit results database" in result.stderr
