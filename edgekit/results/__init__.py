"""The local history of every benchmark run (SQLite): :class:`ResultStore`."""

from edgekit.results.store import LOCAL_HOST, ResultStore, default_db_path

__all__ = ["LOCAL_HOST", "ResultStore", "default_db_path"]
