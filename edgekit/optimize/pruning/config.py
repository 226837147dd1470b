"""Settings of the prune stage and their checks (no TensorFlow: edgekit.toml and --help read them)."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import UsageError
from edgekit.optimize.checks import check_non_negative
from edgekit.optimize.selector import Selector

PRUNE_SCHEDULES = ("polynomial", "constant")  # sparsity ramps up from 0, or holds from the first step


def check_sparsity(value: float, name: str = "sparsity") -> float:
    """Sparsity must lie in [0, 1): pruning every weight leaves no model."""
    if not 0.0 <= value < 1.0:
        raise UsageError(f"{name} must be in [0, 1) (e.g. 0.8 for 80% zeros), got {value}")
    return float(value)


def check_structure(n_of_m: tuple[int, int] | None, block_size: int,
                    run_cost: float = 0.0) -> tuple[tuple[int, int] | None, int, float]:
    """``(n_of_m, block_size, run_cost)`` checked: N:M with 0 < N < M, blocks of >= 1 input channels,
    or a run cost >= 0 — one kind of structure at a time."""
    if int(block_size) != block_size or block_size < 1:
        raise UsageError(f"prune block size must be an integer >= 1 (e.g. 4 or 16), got {block_size}")
    cost = check_non_negative(run_cost, "prune run cost", "0.3; 0 = plain magnitude pruning")
    if block_size > 1 and cost > 0:
        raise UsageError("block pruning and a prune run cost exclude each other: choose one")
    if n_of_m is None:
        return None, int(block_size), cost
    try:
        n, m = (int(v) for v in n_of_m)
    except (TypeError, ValueError):
        raise UsageError(f"structured sparsity must be two integers N:M such as 2:4, got {n_of_m!r}") from None
    if not 0 < n < m:
        raise UsageError(f"structured sparsity N:M needs 0 < N < M (e.g. 2:4), got {n}:{m}")
    if block_size > 1 or cost > 0:
        raise UsageError("structured N:M excludes block pruning and a prune run cost: choose one")
    return (n, m), 1, 0.0


@dataclass
class PruneConfig:
    sparsity: float = 0.8                      # with structured: 1 - N/M, whatever was given
    schedule: str = "polynomial"
    structured: tuple[int, int] | None = None  # (n, m), e.g. (2, 4)
    block_size: int = 1                        # prune runs of this many input channels together
    run_cost: float = 0.0                      # > 0: prefer long zero runs (smaller gzip), see pruning.runs
    select: Selector = None

    def __post_init__(self) -> None:
        if self.structured is None:
            check_sparsity(self.sparsity, "prune sparsity")
        self.structured, self.block_size, self.run_cost = check_structure(self.structured, self.block_size,
                                                                          self.run_cost)
        if self.structured is not None:  # N:M fixes it: an edgekit.toml and the flags give one config
            self.sparsity = 1 - self.structured[0] / self.structured[1]
        if self.schedule not in PRUNE_SCHEDULES:
            raise UsageError(f"prune schedule must be one of {', '.join(PRUNE_SCHEDULES)}, got {self.schedule!r}")
