"""One benchmark at a time per device: a host-side ``flock`` per device name.

Two trials measuring latency on one device at once would slow each other down (and the
device's own deploy lock would refuse the second), while their training may overlap
freely. So only the bench stage is held under this lock, which is a file in the study's
``.locks`` folder: every local worker process (and every Ray task on this host) shares it,
and the kernel releases it when a worker dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
from pathlib import Path
from typing import Iterator


def lock_path(lock_dir: Path, device: str) -> Path:
    """A file name per device: readable, and distinct for names that differ only in odd characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", device)[:60]
    return lock_dir / f"bench-{safe}-{hashlib.sha256(device.encode()).hexdigest()[:8]}.lock"


@contextlib.contextmanager
def bench_lock(lock_dir: Path, device: str) -> Iterator[None]:
    """Hold ``device``'s bench lock (waiting for it) for the body."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_path(lock_dir, device), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = ["bench_lock", "lock_path"]
