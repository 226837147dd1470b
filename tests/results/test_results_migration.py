"""A results database written by the previous edgekit (schema version 1) opens, migrates forward and keeps its runs."""

from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from helpers.agent_support import bench_models  # noqa: F401
from edgekit.agent.runner import run_local
from edgekit.results import ResultStore, RunTag
from edgekit.results.store import SCHEMA_VERSION

# The schema as edgekit wrote it before runs had a kind and a label, verbatim: a copy, not imported from the
# store, so the test keeps the old database even if someone edits the store's first migration step.
VERSION_1 = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,            -- unix time of recording
    target TEXT NOT NULL,
    host TEXT NOT NULL,
    model_name TEXT,
    model_sha256 TEXT,
    model_size INTEGER,
    runtime TEXT,
    runtime_version TEXT,
    threads INTEGER,
    mean_ms REAL,
    p50_ms REAL,
    p90_ms REAL,
    peak_mb REAL,
    throttled INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL              -- the agent's JSON, verbatim
);
CREATE INDEX IF NOT EXISTS runs_target ON runs (target, created);
CREATE INDEX IF NOT EXISTS runs_host ON runs (host, created);
CREATE INDEX IF NOT EXISTS runs_model ON runs (model_sha256);
PRAGMA user_version = 1;
"""


@pytest.fixture(scope="module")
def bench_result(bench_models) -> dict:
    return run_local(bench_models["int8"], runs=5, warmup=1)


def _old_database(path, result: dict) -> list[dict]:
    """A version-1 database holding a local bench and a deploy the way version 1 recorded them."""
    deployed = {**result, "deploy": {"device": "pi-1", "host": "pi@10.0.0.7", "bytes_sent": 1234}}
    rows = [("local", "local", result), ("rpi4", "pi-1", deployed)]
    with sqlite3.connect(path) as conn:
        conn.executescript(VERSION_1)
        for target, host, agent in rows:
            conn.execute("INSERT INTO runs (created, target, host, model_name, model_sha256, p50_ms, result) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (time.time(), target, host, "model.tflite", agent["model"]["sha256"],
                          agent["timing_ms"]["p50"], json.dumps(agent)))
    return [agent for _, _, agent in rows]


def test_a_version_1_database_keeps_its_runs_and_gains_kind_and_label(cli, bench_result, tmp_path):
    path = tmp_path / "results.db"   # the `cli` fixture points edgekit at this file
    old = _old_database(path, bench_result)

    listed = json.loads(cli("history", "--json").stdout)
    assert [(r["id"], r["kind"], r["label"], r["host"]) for r in listed] == [
        (2, "deploy", None, "pi-1"), (1, "bench", None, "local")]   # a deploy's result says it was one
    assert listed[1]["p50_ms"] == bench_result["timing_ms"]["p50"]
    store = ResultStore(path)
    assert [store.get(run_id)["result"] for run_id in (1, 2)] == old
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

    new = store.tagged(RunTag("build", "build:app/edgekit.toml#int8")).record(bench_result, target="local",
                                                                                host="local")
    text = cli("history").stdout.splitlines()
    assert text[1].split()[:1] + text[1].split()[3:5] == [str(new), "build", "build:app/edgekit.toml#int8"]
    assert [line.split()[3:5] for line in text[2:]] == [["deploy", "-"], ["bench", "-"]]


def _open_and_record(args) -> int:
    path, result = args
    return ResultStore(path).record(result, target="local", host="local")


def test_processes_migrating_at_once_migrate_once(bench_result, tmp_path):
    """Parallel fleet deploys may be the first to open an old database, several at a time."""
    path = tmp_path / "results.db"
    _old_database(path, bench_result)
    with ProcessPoolExecutor(4) as pool:
        ids = list(pool.map(_open_and_record, [(path, bench_result)] * 8))
    assert sorted(ids) == list(range(3, 11))
    runs = ResultStore(path).runs(limit=None)
    assert len(runs) == 10 and {r["kind"] for r in runs if r["id"] > 2} == {"bench"}


def test_a_newer_database_is_refused_in_one_line(cli, bench_result, tmp_path):
    path = tmp_path / "results.db"
    ResultStore(path).record(bench_result, target="local", host="local")
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result = cli("history")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "newer than this edgekit understands" in result.stderr
    assert "Traceback" not in result.stderr
