"""Axis ticks a person reads at a glance: round numbers in 1-2-5 steps, on linear and log axes.

Ticks at a fraction of the data's span (21.3%, 3.71) make every point a subtraction; ticks on
1, 2, 5 times a power of ten let the eye place a point between two of them.
"""

from __future__ import annotations

import math

STEPS = (1, 2, 5)
FINER = (1, 1.5, 2, 3, 4, 5, 6, 8)     # a log axis spanning less than a 1-2-5 step


def linear_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """At most about ``count`` ticks within [lo, hi], at multiples of a 1-2-5 step."""
    span = (hi - lo) or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    for mult in (*STEPS, 10):
        if span / (step * mult) <= count:
            step *= mult
            break
    first = math.ceil(lo / step - 1e-9)
    digits = max(0, -math.floor(math.log10(step)) + 1)
    return [round(i * step, digits) for i in range(first, math.floor(hi / step + 1e-9) + 1)]


def log_ticks(lo: float, hi: float, least: int = 3, most: int = 8) -> list[float]:
    """Ticks within [lo, hi] (both > 0) at 1, 2, 5 x 10^k: at powers of ten only when more than ``most``
    fall inside, at finer mantissas (then linear ticks) when fewer than ``least``."""
    def within(mantissas: tuple[float, ...]) -> list[float]:
        return [m * 10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                for m in mantissas if lo <= m * 10.0 ** k <= hi]

    ticks = within(STEPS)
    if len(ticks) > most:
        return within((1,))
    if len(ticks) < least:
        ticks = within(FINER)
    return ticks if len(ticks) >= least else linear_ticks(lo, hi, count=least + 1)


def tick_label(value: float, unit: str = "") -> str:
    """``20``, ``1.5``, ``0.05`` with ``unit`` after it (no exponent, no trailing zeros)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return f"{text}{unit}"


__all__ = ["linear_ticks", "log_ticks", "tick_label"]
