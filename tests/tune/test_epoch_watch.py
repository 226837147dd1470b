"""The epoch watch inside a real fine-tuning run (the Trainer's callbacks pass-through, a real SQLite study):
a collapsed model stops after its first epoch, a lagging one when the median pruner says so, a seed recipe never."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from edgekit.optimize.file import labelled
from edgekit.optimize.trainer import Finetune, Trainer
from edgekit.tune.epoch_watch import CHANCE_MARGIN, EpochPruned, EpochWatch
from edgekit.tune.pruners import PRUNERS, epoch_study
from edgekit.vocab import TUNE_PRUNERS


def classifier(trainable: bool = True) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    if not trainable:  # always class 0: accuracy = class 0's share of the data, about chance
        model.layers[-1].set_weights([np.zeros((64, 10)), np.eye(10)[0] * 5])
        model.trainable = False
    return model


def fine_tune(model, digits_train, watch, epochs=3, learning_rate=1e-3) -> None:
    Trainer(model, labelled(model, digits_train),
            Finetune(epochs=epochs, learning_rate=learning_rate, callbacks=(watch,))).fit(model)


@pytest.fixture
def study(tmp_path):
    return tmp_path / "tune.db"


def finished_trials(db, value: float, count: int = 4, steps: int = 3, pruner: str = "none") -> None:
    """``count`` finished twins that were at ``value`` after every one of ``steps`` epochs, each asking ``pruner``
    after each epoch as a watched trial does (successive halving ranks only the trials that asked)."""
    epochs = epoch_study(db, pruner)
    for _ in range(count):
        trial = epochs.ask()
        for step in range(1, steps + 1):
            trial.report(value, step)
            trial.should_prune()
        epochs.tell(trial, value)


def test_a_model_at_chance_stops_after_its_first_epoch(study, digits_train, digits_val):
    twin = epoch_study(study).ask()
    watch = EpochWatch(str(study), twin._trial_id, "median", str(digits_val))
    with pytest.raises(EpochPruned) as cut:
        fine_tune(classifier(trainable=False), digits_train, watch)
    assert cut.value.epoch == 1 and watch.epochs == 1
    assert cut.value.accuracy < 0.1 + CHANCE_MARGIN and "below chance (10%)" in cut.value.why
    reported = epoch_study(study).trials[0].intermediate_values
    assert reported == {1: cut.value.accuracy}
    assert cut.value.accuracy == pytest.approx(np.mean(np.load(digits_val)["y"] == 0))


def test_the_median_pruner_cuts_a_trial_behind_the_finished_ones_but_not_a_seed_recipe(study, digits_train,
                                                                                      digits_val):
    finished_trials(study, 1.0)   # four trials at 100% after every epoch: any real model is behind them
    twin = epoch_study(study).ask()
    watch = EpochWatch(str(study), twin._trial_id, "median", str(digits_val))
    with pytest.raises(EpochPruned) as cut:
        fine_tune(classifier(), digits_train, watch)
    # never on the first epoch (n_warmup_steps), then at once
    assert cut.value.epoch == 2 and 0.1 + CHANCE_MARGIN < cut.value.accuracy < 1.0
    assert cut.value.why == "median pruner: behind the other trials at epoch 2"

    seed = epoch_study(study).ask()
    protected = EpochWatch(str(study), seed._trial_id, "median", str(digits_val), protected=True)
    fine_tune(classifier(), digits_train, protected)
    values = epoch_study(study).trials[seed.number].intermediate_values
    assert protected.epochs == 3 and sorted(values) == [1, 2, 3] and all(v < 1.0 for v in values.values())


def test_a_watched_trial_that_is_not_cut_trains_the_same_weights_as_an_unwatched_one(study, digits_train,
                                                                                     digits_val):
    twin = epoch_study(study).ask()
    watched, plain = classifier(), classifier()
    fine_tune(watched, digits_train, EpochWatch(str(study), twin._trial_id, "none", str(digits_val)), epochs=2)
    keras.utils.set_random_seed(0)
    Trainer(plain, labelled(plain, digits_train), Finetune(epochs=2, learning_rate=1e-3)).fit(plain)
    for a, b in zip(watched.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_every_pruner_name_the_options_accept_is_registered():
    assert tuple(PRUNERS) == TUNE_PRUNERS
    for name in TUNE_PRUNERS:
        assert PRUNERS[name].make() is not None


@pytest.mark.parametrize("pruner", ["halving", "median"])
def test_above_the_accuracy_bound_a_trial_is_never_behind(study, digits_train, digits_val, pruner):
    """The finished trials stood at the bound: a trial above it ties with them (its reports are capped), where
    uncapped it is cut for trailing trials that were further above."""
    bound = 0.3
    finished_trials(study, 1.0, pruner=pruner)
    twin = epoch_study(study).ask()
    with pytest.raises(EpochPruned):
        fine_tune(classifier(), digits_train, EpochWatch(str(study), twin._trial_id, pruner, str(digits_val)))

    capped_study = study.with_name("capped.db")
    finished_trials(capped_study, bound, pruner=pruner)
    twin = epoch_study(capped_study).ask()
    watch = EpochWatch(str(capped_study), twin._trial_id, pruner, str(digits_val), ceiling=bound)
    fine_tune(classifier(), digits_train, watch)
    values = epoch_study(capped_study).trials[twin.number].intermediate_values
    assert watch.epochs == 3 and values[2] == values[3] == bound
