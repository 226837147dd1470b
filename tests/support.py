"""Helpers for tests of every tier (import as ``from support import ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_edgekit(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m edgekit ARGS...`` as a real subprocess (exit codes, stdout/stderr split)."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, **kwargs,
    )


def isolate_ssh_client(tmp_path: Path, monkeypatch) -> Path:
    """HOME in a temp dir (no real ~/.ssh), no SSH agent, results DB in the temp dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("EDGEKIT_RESULTS_DB", str(tmp_path / "results.db"))
    monkeypatch.chdir(tmp_path)
    return home
