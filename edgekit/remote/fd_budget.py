"""How many devices this process can have in flight, from its open-file limit.

Each device in flight holds a few file descriptors (its SSH socket, the model file
being sent, a pipe of paramiko's). Running out mid-fleet fails devices at random with
EMFILE, so the soft limit is raised to the hard one first, and what is still too low
caps the parallelism up front -- said in one line, not discovered as a crash.
"""

from __future__ import annotations

import os

try:
    import resource
except ImportError:  # not on Windows: no limit to read or raise
    resource = None

# Descriptors one device in flight may hold at once (measured ~3; one spare for the model file).
FDS_PER_DEVICE = 4
# Kept free for the process itself: imports, the results database, logging.
RESERVED_FDS = 32


def open_fds() -> int:
    """Descriptors open now (0 where /proc and /dev/fd are missing)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(folder))
        except OSError:
            continue
    return 0


def raise_soft_limit() -> int | None:
    """Raise RLIMIT_NOFILE's soft limit to its hard limit; the soft limit now in force (None: unlimited/unknown)."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def bound_parallel(requested: int, devices: int) -> tuple[int, str | None]:
    """(the parallelism to use, a one-line note when it had to be lowered below ``requested``)."""
    wanted = max(1, min(requested, devices))
    limit = raise_soft_limit()
    if limit is None:
        return wanted, None
    fits = max(1, (limit - open_fds() - RESERVED_FDS) // FDS_PER_DEVICE)
    if wanted <= fits:
        return wanted, None
    return fits, (f"--parallel {requested} lowered to {fits}: this process may open {limit} files (ulimit -n) "
                  f"and each device in flight needs about {FDS_PER_DEVICE}; raise 'ulimit -n' for more")
