"""The fine-tuning learning rate when none is given: the saved Adam's, a range test's, or the default warmed up."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from edgekit.keras_file import saved_learning_rate
from edgekit.optimize.learning_rate import (DEFAULT_LEARNING_RATE, RANGE_HIGH, RANGE_LOW, WARMUP_STEPS,
                                            choose_learning_rate)


def _compiled(optimizer) -> dict:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    return model.get_compile_config()


def test_only_a_constant_adam_family_rate_carries_over():
    assert saved_learning_rate(_compiled(keras.optimizers.Adam(3e-4))) == ("Adam", pytest.approx(3e-4))
    assert saved_learning_rate(_compiled(keras.optimizers.AdamW(2e-3)))[0] == "AdamW"
    assert saved_learning_rate(_compiled(keras.optimizers.SGD(0.05))) is None   # SGD's rates are not Adam's
    decay = keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.5)
    assert saved_learning_rate(_compiled(keras.optimizers.Adam(decay))) is None  # the end rate is not in the file
    assert saved_learning_rate(None) is None


def test_a_model_saved_without_optimizer_gets_a_range_tested_rate(digits_train):
    from edgekit.data import Dataset
    from edgekit.optimize.trainer import Finetune, Trainer

    keras.utils.set_random_seed(0)
    data = np.load(digits_train)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    before = [w.copy() for w in model.get_weights()]
    messages = []
    trainer = Trainer(model, Dataset(data["x"], data["y"], "digits"), Finetune(epochs=1), progress=messages.append)
    assert trainer.learning_rate.source == "a learning-rate range test"
    assert RANGE_LOW / 10 < trainer.learning_rate.value <= RANGE_HIGH / 10
    assert trainer.learning_rate.warmup_steps == 0
    assert any("(a learning-rate range test)" in message for message in messages)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # the test trained a copy


def test_without_saved_rate_or_range_test_the_default_warms_up():
    chosen = choose_learning_rate(None, None, lambda: None)
    assert chosen.value == DEFAULT_LEARNING_RATE and chosen.warmup_steps == WARMUP_STEPS
    warmup, = chosen.callbacks()
    assert warmup.rate_at(0) == pytest.approx(DEFAULT_LEARNING_RATE / WARMUP_STEPS)
    assert warmup.rate_at(WARMUP_STEPS * 5) == pytest.approx(DEFAULT_LEARNING_RATE)
    assert choose_learning_rate(5e-4, None, lambda: None).value == 5e-4   # --learning-rate wins


def test_adam_trains_with_the_warmup_and_the_model_saves_plainly(tmp_path):
    chosen = choose_learning_rate(None, None, lambda: None)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(chosen.value), loss="mse")
    before = model.get_weights()[0].copy()
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 1), "float32"), epochs=1, verbose=0,
              callbacks=chosen.callbacks())
    # one step taken, at 1 / WARMUP_STEPS of the default
    assert float(model.optimizer.learning_rate) == pytest.approx(DEFAULT_LEARNING_RATE / WARMUP_STEPS)
    assert not np.array_equal(before, model.get_weights()[0])
    model.save(tmp_path / "m.keras")   # a plain float rate: loads without edgekit's classes
    assert float(keras.models.load_model(tmp_path / "m.keras").optimizer.learning_rate) > 0
