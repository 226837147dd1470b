"""Axis ticks are round numbers in 1-2-5 steps inside the data's range, on linear and log axes."""

from __future__ import annotations

import math

import pytest

from edgekit.ticks import linear_ticks, log_ticks, tick_label


def mantissa(value: float) -> float:
    return round(value / 10 ** math.floor(math.log10(value)), 6)


@pytest.mark.parametrize("lo, hi", [(21.34, 98.76), (94.9, 99.3), (0, 1), (0.95, 0.96), (0.0012, 0.0042), (0, 37.1)])
def test_linear_ticks_step_by_one_two_or_five_inside_the_range(lo, hi):
    ticks = linear_ticks(lo, hi)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(ticks) >= 2 and len(steps) == 1 and mantissa(steps.pop()) in (1, 2, 5)
    assert lo <= ticks[0] and ticks[-1] <= hi
    assert all(tick_label(t) == f"{t:.6f}".rstrip("0").rstrip(".") and "e" not in tick_label(t) for t in ticks)


@pytest.mark.parametrize("lo, hi", [(5.4, 130.0), (7.03, 94.0), (0.8, 1500.0), (0.5, 20000.0)])
def test_log_ticks_are_one_two_five_times_a_power_of_ten(lo, hi):
    ticks = log_ticks(lo, hi)
    assert 3 <= len(ticks) <= 8 and all(lo <= t <= hi for t in ticks) and ticks == sorted(ticks)
    assert all(mantissa(t) in (1, 2, 5) for t in ticks)


def test_a_narrow_log_range_still_gets_three_readable_ticks():
    ticks = log_ticks(8.0, 12.0)
    assert len(ticks) >= 3 and all(8.0 <= t <= 12.0 for t in ticks)
    assert [tick_label(t, " KB") for t in ticks[:2]] == [f"{ticks[0]:g} KB", f"{ticks[1]:g} KB"]
