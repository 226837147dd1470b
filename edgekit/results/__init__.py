"""The local history of every benchmark run (SQLite): :class:`ResultStore`, :func:`list_history`."""

from edgekit.results.history import History, list_history
from edgekit.results.store import KINDS, LOCAL_HOST, ResultStore, RunTag, default_db_path

__all__ = ["KINDS", "LOCAL_HOST", "History", "ResultStore", "RunTag", "default_db_path", "list_history"]
