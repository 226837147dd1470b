"""The local history of every benchmark run (SQLite): :class:`ResultStore`."""

from edgekit.results.store import ResultStore, default_db_path

__all__ = ["ResultStore", "default_db_path"]
