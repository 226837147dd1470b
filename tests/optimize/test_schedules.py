"""Pruning schedules follow tfmot's formulas: when masks update and to which sparsity."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.errors import UsageError
from edgekit.optimize.pruning import ConstantSparsity, PolynomialDecay


def _call(schedule, step):
    should, sparsity = schedule(step)
    return bool(np.asarray(should)), float(np.asarray(sparsity))


def test_constant_sparsity_prunes_every_frequency_steps_in_range():
    schedule = ConstantSparsity(0.7, begin_step=10, end_step=50, frequency=20)
    decisions = {step: _call(schedule, step)[0] for step in range(0, 80)}
    assert [s for s, yes in decisions.items() if yes] == [10, 30, 50]
    assert _call(schedule, 33)[1] == pytest.approx(0.7)


def test_constant_sparsity_without_end_keeps_pruning():
    schedule = ConstantSparsity(0.5, begin_step=0, frequency=7)
    assert [s for s in range(0, 1000, 1) if _call(schedule, s)[0]][-1] == 994


@pytest.mark.parametrize("step", [0, 5, 20, 37, 60, 100, 250])
def test_polynomial_decay_matches_formula(step):
    initial, final, begin, end, power = 0.1, 0.85, 20, 100, 3
    schedule = PolynomialDecay(initial, final, begin, end, power=power, frequency=10)
    p = min(1.0, max(0.0, (step - begin) / (end - begin)))
    expected = final + (initial - final) * (1 - p) ** power
    should, sparsity = _call(schedule, step)
    assert sparsity == pytest.approx(expected, abs=1e-6)
    assert should == (begin <= step <= end and (step - begin) % 10 == 0)


def test_polynomial_decay_power_one_is_linear():
    schedule = PolynomialDecay(0.0, 0.8, 0, 100, power=1, frequency=1)
    assert [round(_call(schedule, s)[1], 4) for s in (0, 25, 50, 100)] == [0.0, 0.2, 0.4, 0.8]


@pytest.mark.parametrize("make", [
    lambda: ConstantSparsity(1.0),
    lambda: ConstantSparsity(-0.1),
    lambda: ConstantSparsity(0.5, begin_step=-1),
    lambda: ConstantSparsity(0.5, begin_step=10, end_step=5),
    lambda: ConstantSparsity(0.5, frequency=0),
    lambda: PolynomialDecay(0.0, 0.8, 0, -1),
    lambda: PolynomialDecay(0.0, 1.2, 0, 10),
])
def test_bad_schedules_are_usage_errors(make):
    with pytest.raises(UsageError):
        make()
