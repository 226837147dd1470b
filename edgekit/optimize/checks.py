"""Checks of numeric optimisation settings shared by pruning and clustering."""

from __future__ import annotations

from edgekit.errors import UsageError


def check_non_negative(value, what: str, example: str) -> float:
    """``value`` as a finite float >= 0, or a :class:`UsageError` naming ``what`` with an ``example``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0 <= number < float("inf"):
        raise UsageError(f"{what} must be a number >= 0 (e.g. {example}), got {value!r}")
    return number
