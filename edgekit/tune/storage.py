"""The study database: one SQLite file the driver and every worker write to.

Workers report their epochs to it while the driver records finished trials, so writers
meet; SQLite makes a writer wait for the lock, and the wait is made long (a loaded
machine can hold a write for seconds) rather than failing a trial with "database is locked".
"""

from __future__ import annotations

from pathlib import Path

BUSY_TIMEOUT_S = 120


def storage(db: str | Path):
    """Optuna's RDB storage on the SQLite file ``db`` (an absolute path works from every worker)."""
    import optuna

    return optuna.storages.RDBStorage(f"sqlite:///{Path(db)}",
                                      engine_kwargs={"connect_args": {"timeout": BUSY_TIMEOUT_S}})


__all__ = ["BUSY_TIMEOUT_S", "storage"]
