"""Every tune test records benchmarks in its own results database."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def results_db(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_RESULTS_DB", str(tmp_path / "results.db"))
