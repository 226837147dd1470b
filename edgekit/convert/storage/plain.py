"""The int8 form: the file as converted (the reference of every compact form)."""

from __future__ import annotations

from edgekit.convert.storage import StorageJob


def identity(job: StorageJob) -> tuple[bytes, list[dict]]:
    return job.int8, []
