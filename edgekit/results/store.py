"""SQLite store of benchmark results: the agent's full JSON plus columns to filter and sort by.

Parallel fleet deploys record from several threads or processes at once, so the
database runs in WAL mode with a busy timeout and every write is one short transaction.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit.errors import ConfigError, UsageError

# The host column names where a run happened the way a user names it: ``local`` for this
# machine, else the device's inventory name or the ``--host`` spec it was deployed with.
LOCAL_HOST = "local"
# What a run was recorded for. A build's and a trial's runs are all ``model.tflite``: their
# label (``build:CONFIG#VARIANT``, ``tune:STUDY#trial-N``) is what tells them apart.
KINDS = ("bench", "deploy", "build", "trial")
_BUSY_TIMEOUT_S = 30.0

# _MIGRATIONS[n] brings a database from schema version n to n + 1 (``PRAGMA user_version``;
# 0 is an empty file). Append to it, never edit a step: a database keeps the version it got.
_MIGRATIONS: tuple[str, ...] = (
    """
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
    """,
    # kind and label; a deploy's result carries a "deploy" object, so older deploy runs are
    # known as such (older build runs cannot be told from benches and stay "bench")
    """
    ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'bench';
    ALTER TABLE runs ADD COLUMN label TEXT;
    UPDATE runs SET kind = 'deploy' WHERE json_extract(result, '$.deploy') IS NOT NULL;
    CREATE INDEX IF NOT EXISTS runs_kind ON runs (kind, id);
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = ("id", "created", "kind", "label", "target", "host", "model_name", "model_sha256", "model_size",
            "runtime", "runtime_version", "threads", "mean_ms", "p50_ms", "p90_ms", "peak_mb", "throttled")


@dataclass(frozen=True)
class RunTag:
    """What a run is recorded as: its kind (one of :data:`KINDS`) and a label naming it (None: its model does)."""

    kind: str = "bench"
    label: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"run kind {self.kind!r} is not one of {', '.join(KINDS)}")


def default_db_path() -> Path:
    """``$EDGEKIT_RESULTS_DB``, else ``$XDG_DATA_HOME/edgekit/results.db`` (~/.local/share)."""
    explicit = os.environ.get("EDGEKIT_RESULTS_DB")
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "edgekit" / "results.db"


class ResultStore:
    """The results database; created with its schema on first use, migrated forward when older.

    Every run is recorded with the store's :class:`RunTag` (a plain bench by default):
    :meth:`tagged` gives code that only knows ``record(result, target=, host=)`` (a benchmark
    step, a deploy) a store that records under a build's or a trial's name.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.tag = RunTag()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: not a usable edgekit results database ({exc}); "
                              "move it away or set EDGEKIT_RESULTS_DB to another file") from None
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the results database ({exc.strerror}); "
                              "set EDGEKIT_RESULTS_DB to a writable file") from None

    def tagged(self, tag: RunTag) -> "ResultStore":
        """This database, recording every run with ``tag``."""
        clone = copy.copy(self)
        clone.tag = tag
        return clone

    def record(self, result: dict, *, target: str, host: str) -> int:
        """Store one successful agent result under this store's tag; returns its run id."""
        timing, memory = result.get("timing_ms", {}), result.get("memory_mb", {})
        model, runtime = result.get("model", {}), result.get("runtime") or {}
        row = {
            "created": time.time(), "kind": self.tag.kind, "label": self.tag.label, "target": target, "host": host,
            "model_name": Path(model.get("path", "")).name or None, "model_sha256": model.get("sha256"),
            "model_size": model.get("size_bytes"), "runtime": runtime.get("name"),
            "runtime_version": runtime.get("version"), "threads": result.get("threads"),
            "mean_ms": timing.get("mean"), "p50_ms": timing.get("p50"), "p90_ms": timing.get("p90"),
            "peak_mb": memory.get("peak_rss"),
            "throttled": int(bool((result.get("device") or {}).get("throttled"))),
            "result": json.dumps(result),
        }
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock up front: waits, never BUSY_SNAPSHOT
            cursor = conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", row)
            return int(cursor.lastrowid)

    def runs(self, *, limit: int | None = 20, target: str | None = None, host: str | None = None,
             model: str | None = None, kinds: Collection[str] | None = None) -> list[dict]:
        """Newest first; ``model`` matches a file name (``.tflite`` may be left off) or a sha256 prefix,
        ``kinds`` (None: all) the runs' :data:`KINDS`."""
        where, params = _where(target=target, host=host, model=model, kinds=kinds)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs {where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._connect() as conn:
            return [self._summary(row) for row in conn.execute(sql, params)]

    def count(self, *, target: str | None = None, host: str | None = None, model: str | None = None,
              kinds: Collection[str] | None = None) -> int:
        """How many runs :meth:`runs` would give with no limit (the same filters)."""
        where, params = _where(target=target, host=host, model=model, kinds=kinds)
        with self._connect() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM runs {where}", params).fetchone()[0])

    def get(self, run_id: int) -> dict:
        """One run: its summary columns plus the full agent result under ``result``."""
        with self._connect() as conn:
            row = conn.execute(f"SELECT {', '.join(_COLUMNS)}, result FROM runs WHERE id = ?",
                               (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"run {run_id} is not in {self.path}; see 'edgekit history' for run ids")
        summary = self._summary(row[:-1])
        summary["result"] = json.loads(row[-1])
        return summary

    def _connect(self) -> "_ClosingConnection":
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), as concurrency needs.
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        return _ClosingConnection(conn)

    def _migrate(self) -> None:
        """WAL mode and the current schema; several processes may do this at once."""
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while True:
            try:
                with self._connect() as conn:
                    # Switching to WAL needs an exclusive lock and SQLite may refuse it at once
                    # rather than wait, hence the retry loop around the whole step.
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("BEGIN IMMEDIATE")
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    if version > SCHEMA_VERSION:
                        raise sqlite3.DatabaseError(f"schema version {version} is newer than this edgekit "
                                                    f"understands ({SCHEMA_VERSION}); upgrade edgekit")
                    for step in _MIGRATIONS[version:]:
                        for statement in filter(str.strip, step.split(";")):
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def _summary(row: tuple) -> dict[str, Any]:
        summary = dict(zip(_COLUMNS, row))
        summary["throttled"] = bool(summary["throttled"])
        summary["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(summary["created"]))
        return summary


def _where(*, target: str | None, host: str | None, model: str | None,
           kinds: Collection[str] | None) -> tuple[str, list]:
    """The WHERE clause (or "") and its parameters of the runs' filters."""
    clauses, params = [], []
    if target:
        clauses.append("target = ?")
        params.append(target)
    if host:
        clauses.append("host = ?")
        params.append(host)
    if model:
        clauses.append("(model_name IN (?, ?) OR model_sha256 LIKE ?)")
        params += [model, model + ".tflite", model.lower() + "%"]
    if kinds is not None:
        clauses.append(f"kind IN ({', '.join('?' * len(kinds))})" if kinds else "0")
        params += list(kinds)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


class _ClosingConnection:
    """``with`` commits (or rolls back) and then closes, unlike sqlite3's own context manager."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self._conn.close()
