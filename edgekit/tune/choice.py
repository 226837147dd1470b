"""Which trial a study chooses: the smallest that meets every budget, unless it is needlessly slow.

Size is the objective and the budgets are constraints, so without a latency budget nothing
kept a recipe that is much slower than the plain int8 model (int16x8 activations: 7.5x the
p50 on one model) from winning by a few hundred bytes. Every trial's build times its own
model and the base model's plain int8 conversion side by side on this machine; the median
of the latter over the study is the reference. When the smallest trial's p50 is more than
:data:`SLOWER` times the reference and a trial within :data:`COMPARABLE` of its size is
not, that trial is chosen instead (a tie-break, not an objective: the search does not
change). When none is, the smallest stays chosen and :func:`latency_note` says so in one line.
With a latency budget (or ``--latency``) latency is judged by it and only the note remains.
"""

from __future__ import annotations

import statistics
from typing import Any, Sequence

# p50 above 1.5x the plain int8 model's is slower: on the loaded 2-core test machine int8 trials' p50s spread
# up to 1.4x the reference (timing noise), int16x8 ones 4-59x (bench/results/tune-search.json)
SLOWER = 1.5
COMPARABLE = 1.25    # a trial at most 25% larger than the smallest is comparable in size


def choose(records: Sequence[Any], objectives) -> int | None:
    """The chosen trial's number (None if no trial met every budget); ``records``: TrialRecord s."""
    ok = [r for r in records if r.feasible]
    if not ok:
        return None
    order = lambda r: (objectives.size_kb(r.result), -r.result["accuracy"], r.number)  # noqa: E731
    smallest = min(ok, key=order)
    reference = int8_p50(records)
    if objectives.latency or not _slower(smallest, reference):
        return smallest.number
    limit = objectives.size_kb(smallest.result) * COMPARABLE
    faster = [r for r in ok if objectives.size_kb(r.result) <= limit and not _slower(r, reference)]
    return min(faster, key=order).number if faster else smallest.number


def closest(records: Sequence[Any]) -> int | None:
    """When no trial met every budget, the one that missed by least (its worst relative gap smallest):
    the place to start relaxing a budget or narrowing the space. None without a completed trial."""
    done = [r for r in records if r.state == "COMPLETE" and r.constraints]
    return min(done, key=lambda r: (max(r.constraints), r.number)).number if done else None


def int8_p50(records: Sequence[Any]) -> float | None:
    """The plain int8 model's p50 in ms: the median over the trials that timed it."""
    times = [r.result["int8_p50_ms"] for r in records if r.result and r.result.get("int8_p50_ms") is not None]
    return statistics.median(times) if times else None


def _slower(record: Any, reference: float | None) -> bool:
    p50 = record.result.get("p50_ms")
    return reference is not None and p50 is not None and p50 > SLOWER * reference


def latency_note(records: Sequence[Any], chosen: int | None) -> str | None:
    """One line when the chosen trial is slower than the plain int8 model, else None."""
    record = next((r for r in records if r.number == chosen), None)
    reference = int8_p50(records)
    if record is None or not _slower(record, reference):
        return None
    p50 = record.result["p50_ms"]
    return (f"note: the chosen trial {record.number} runs at p50 {p50:.3g} ms, {p50 / reference:.1f}x the plain "
            f"int8 model's {reference:.3g} ms (on {record.result.get('bench_where') or 'local'}); "
            "a --max-latency-ms budget trades size for speed")


__all__ = ["COMPARABLE", "SLOWER", "choose", "closest", "int8_p50", "latency_note"]
