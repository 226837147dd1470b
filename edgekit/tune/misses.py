"""What became of a trial, in words a person can act on: which budget it misses and by how much.

"misses a budget" leaves the user to dig the verdicts out of tune.json; a line that names the
budget, its limit and the gap (``misses max_gzip_kb 24 KB by 3.2 KB``) says at once which
limit to relax or which recipe to drop. The progress lines and the report's table both read
:func:`outcome_text`, so they say the same thing. Accuracy budgets are fractions in the
config and read as percent and points here; each other budget reads in its unit
(:data:`edgekit.pipeline.budgets.BUDGETS`).
"""

from __future__ import annotations

from typing import Any, Callable

from edgekit.pipeline.budgets import BUDGETS


def percent(fraction: float) -> str:
    """``0.9`` -> ``90%``, ``0.955`` -> ``95.5%`` (no trailing zeros: limits read as the user wrote them)."""
    return f"{fraction * 100:.4g}%"


def points(fraction: float) -> str:
    """An accuracy difference in percentage points: ``0.023`` -> ``2.3 pt``."""
    return f"{fraction * 100:.1f} pt"


def amount(value: float, unit: str) -> str:
    """A measured amount with the digits that matter for its size: ``3.2 KB``, ``1.0 KB``, ``0.0031 ms``."""
    return f"{value:.2g} {unit}".rstrip() if abs(value) < 1 else f"{value:.1f} {unit}".rstrip()


def _min_accuracy(verdict: dict[str, Any], result: dict[str, Any]) -> str:
    return f"min_accuracy {percent(verdict['limit'])} by {points(verdict['limit'] - verdict['value'])}"


def _max_drop(verdict: dict[str, Any], result: dict[str, Any]) -> str:
    return (f"max_accuracy_drop {points(verdict['limit'])} by {points(verdict['value'] - verdict['limit'])} "
            f"(accuracy {percent(result['accuracy'])}, float {percent(result['baseline_accuracy'])})")


def _in_unit(verdict: dict[str, Any], result: dict[str, Any]) -> str:
    unit, kind = BUDGETS[verdict["name"]][1:]
    gap = verdict["value"] - verdict["limit"] if kind == "max" else verdict["limit"] - verdict["value"]
    return f"{verdict['name']} {verdict['limit']:g} {unit}".rstrip() + f" by {amount(gap, unit)}"


# how a missed budget reads (default: its limit and gap in its unit); accuracy budgets read in % and points
PHRASES: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "min_accuracy": _min_accuracy,
    "max_accuracy_drop": _max_drop,
}


def missed(result: dict[str, Any]) -> list[str]:
    """One phrase per budget a finished trial misses (off-target verdicts are not judged, as in a build)."""
    phrases = []
    for verdict in result.get("verdicts", []):
        if verdict["ok"] or verdict["off_target"]:
            continue
        if verdict["value"] is None:
            phrases.append(f"{verdict['name']} not measured")
        else:
            phrases.append(PHRASES.get(verdict["name"], _in_unit)(verdict, result))
    return phrases


def pruned_text(pruned: dict[str, Any]) -> str:
    """``PRUNED after epoch 1 (val acc 9.7%: below chance (10%) + 5%)``."""
    return f"PRUNED after epoch {pruned['epoch']} (val acc {pruned['accuracy']:.1%}: {pruned['why']})"


def outcome_text(trial: dict[str, Any]) -> str:
    """What became of a trial (a tune.json trial): meets every budget, misses ..., PRUNED ..., FAILED: ..."""
    if trial["stale"]:
        return "cut off when the study stopped; run again"
    if trial["state"] == "PRUNED":
        return pruned_text(trial["pruned"])
    if trial["state"] == "FAIL":
        return f"FAILED: {trial['error']}"
    if trial["state"] != "COMPLETE":
        return trial["state"].lower()
    misses = missed(trial["result"])
    return "misses " + "; ".join(misses) if misses else "meets every budget"


__all__ = ["PHRASES", "amount", "missed", "outcome_text", "percent", "points", "pruned_text"]
