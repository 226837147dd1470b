"""Which learning rate the fine-tuning uses when the user gives none.

A fixed rate cannot suit every model: 1e-4 fine-tunes the digits CNN but leaves a small
BatchNorm CNN that was trained at 1e-3 unable to recover from 80% pruning in two epochs
(96.4% -> 57.7%; at 1e-3: 91.9%). So, in order:

1. the rate of the model's own saved optimizer (an Adam-family optimizer with a constant
   rate: the fine-tuning is Adam too): the rate the weights were shaped by;
2. a short learning-rate range test (Smith 2017) on a copy of the model: the rate rises
   geometrically over ``RANGE_STEPS`` batches, and a tenth of the rate of lowest smoothed
   loss is taken (the usual margin below the point where training diverges);
3. ``DEFAULT_LEARNING_RATE`` with a linear warmup over the first ``WARMUP_STEPS`` steps,
   when the range test finds no rate that lowers the loss (or cannot copy the model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from edgekit.keras_file import saved_learning_rate

DEFAULT_LEARNING_RATE = 1e-4
WARMUP_STEPS = 100
RANGE_STEPS = 40
RANGE_LOW, RANGE_HIGH = 1e-6, 1e-1
# A lowest loss at a rate below this is no finding: a trained model's loss only fluctuates under
# such small steps (measured: a build's range test on the trained digits CNN picked 7.9e-7, and
# its tune trials fell from 98% to 91%)
RANGE_MEANINGFUL = 1e-4
_SMOOTHING = 0.7      # exponential smoothing of the range test's losses
_DIVERGED = 4.0       # the test stops once the smoothed loss exceeds this multiple of its best


@dataclass(frozen=True)
class LearningRate:
    """The chosen rate, where it came from (for the progress output) and its warmup steps (0: none)."""

    value: float
    source: str
    warmup_steps: int = 0

    def callbacks(self) -> list:
        """The Keras callbacks fine-tuning at this rate needs: the warmup, if any."""
        return [Warmup(self.value, self.warmup_steps)] if self.warmup_steps else []


class Warmup(keras.callbacks.Callback):
    """Linear warmup from ``rate / steps`` to ``rate`` over ``steps`` steps, then constant:
    the first updates of a rate not tuned to the model must not throw its weights away.

    A callback that sets the optimizer's plain rate, not a LearningRateSchedule: a schedule
    class is saved into the model's optimizer config, and the written .keras file would not
    load without edgekit (a tune trial's cached model did not)."""

    def __init__(self, rate: float, steps: int):
        super().__init__()
        self.rate, self.steps = float(rate), int(steps)

    def rate_at(self, step: int) -> float:
        return self.rate * min(1.0, (step + 1) / self.steps)

    def on_train_batch_begin(self, batch, logs=None) -> None:
        self.model.optimizer.learning_rate.assign(self.rate_at(int(self.model.optimizer.iterations)))


def choose_learning_rate(given: float | None, compile_config: dict | None,
                         range_test: Callable[[], float | None]) -> LearningRate:
    """``given`` if set; else the saved optimizer's rate; else ``range_test()``; else the default with warmup."""
    if given is not None:
        return LearningRate(given, "--learning-rate")
    saved = saved_learning_rate(compile_config)
    if saved is not None:
        return LearningRate(saved[1], f"the model's saved {saved[0]} optimizer")
    found = range_test()
    if found is not None:
        return LearningRate(found, "a learning-rate range test")
    return LearningRate(DEFAULT_LEARNING_RATE, f"the default, warmed up over {WARMUP_STEPS} steps", WARMUP_STEPS)


def range_test(model: keras.Model, compile_model: Callable[[keras.Model, float], None], x, y,
               batch_size: int, seed: int) -> float | None:
    """A tenth of the rate at which a copy of ``model`` lowers its loss most, or None.

    ``compile_model(copy, rate)`` compiles the copy with the run's objective. The copy trains
    on ``RANGE_STEPS`` random batches with the rate rising from ``RANGE_LOW`` to ``RANGE_HIGH``;
    ``model`` is left untouched. None when the loss never falls below its first value, falls
    lowest only at rates below ``RANGE_MEANINGFUL``, or the model cannot be copied (a
    subclassed model without ``get_config``).
    """
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except (NotImplementedError, TypeError, ValueError):
        return None
    compile_model(copy, RANGE_LOW)
    rng = np.random.default_rng(seed)
    count = len(x[0] if isinstance(x, list) else x)
    rates = np.geomspace(RANGE_LOW, RANGE_HIGH, RANGE_STEPS)
    smoothed, best, best_rate, first = None, math.inf, None, None
    for rate in rates:
        batch = rng.choice(count, size=min(batch_size, count), replace=False)
        copy.optimizer.learning_rate.assign(rate)
        loss = float(copy.train_on_batch(_take(x, batch), _take(y, batch), return_dict=True)["loss"])
        if not math.isfinite(loss):
            break
        smoothed = loss if smoothed is None else _SMOOTHING * smoothed + (1 - _SMOOTHING) * loss
        first = smoothed if first is None else first
        if smoothed < best:
            best, best_rate = smoothed, rate
        elif smoothed > _DIVERGED * best:
            break
    if best_rate is None or best >= first or best_rate < RANGE_MEANINGFUL:
        return None
    return float(best_rate / 10)


def _take(arrays, index):
    return [a[index] for a in arrays] if isinstance(arrays, list) else arrays[index]
