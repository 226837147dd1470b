"""The accuracy budget as a floor (the accuracy every stage keeps) and without back-off: what
``edgekit tune`` gives its trials so a stage ending short of the study's bound trains on, but
keeps the strength the search sampled."""

from __future__ import annotations

import math

import pytest

from edgekit.errors import UsageError
from edgekit.optimize.budget import REACH_POINTS, Budget, make_budget


def test_a_floor_is_the_drop_left_above_it_on_the_starting_model():
    start = {"task": "classification", "accuracy": 0.995}
    assert Budget(floor=0.98).starting_from(start).max_drop == pytest.approx(1.5)
    assert Budget(0.5, floor=0.98).starting_from(start).max_drop == 0.5      # the tighter of the two
    two_heads = {"outputs": {"a": {"task": "classification", "accuracy": 0.99},
                             "b": {"task": "classification", "accuracy": 0.97}}}
    assert Budget(floor=0.95).starting_from(two_heads).max_drop == pytest.approx(2.0)  # the worst head's room


def test_a_floor_with_nothing_to_enforce_is_no_budget():
    assert Budget(floor=0.99).starting_from({"task": "classification", "accuracy": 0.985}) is None  # already under
    assert Budget(floor=0.9).starting_from({"task": "regression", "mae": 3.0}) is None   # no accuracy to keep
    assert Budget(2.0, floor=0.9).starting_from({"task": "regression", "mae": 3.0}) == Budget(2.0)


def test_a_budget_needs_a_drop_or_a_floor_and_checks_both():
    assert make_budget(None, None) is None
    assert make_budget(None, 6, 0.98, False) == Budget(math.inf, 6, 0.98, False)
    with pytest.raises(UsageError, match="min_accuracy must be between 0 and 1"):
        Budget(floor=98.4)
    with pytest.raises(UsageError, match="--max-drop must be >= 0"):
        Budget(math.inf)


def test_without_back_off_a_stage_over_budget_is_kept_as_asked(trained, digits):
    """Fine-tuning at a learning rate of 5 wrecks the digits CNN: far over the budget after its epoch, the
    stage does not train on, and is kept at the requested sparsity instead of backing off or failing."""
    from edgekit.data import Dataset
    from edgekit.optimize.engine import Recipe, optimize
    from edgekit.optimize.pruning.config import PruneConfig
    from edgekit.optimize.stages import Step
    from edgekit.optimize.trainer import Finetune

    train = Dataset(x=digits[0][:128], y=digits[1][:128], source="digits")
    val = Dataset(x=digits[2][:64], y=digits[3][:64], source="digits val")
    lines = []
    result = optimize(trained, Recipe([Step("prune", PruneConfig(sparsity=0.8))],
                                      Finetune(epochs=1, batch_size=64, learning_rate=5.0)), train, val,
                      budget=Budget(floor=0.5, max_epochs=2, backoff=False), progress=lines.append)
    (attempt,) = result.summary["attempts"]
    assert attempt["setting"] == {"sparsity": 0.8} and not attempt["met"] and attempt["epochs"] == 1
    assert attempt["drop"] > result.summary["max_drop"] + REACH_POINTS and not any("epoch 2/2" in x for x in lines)
    assert attempt["backoff"] == "kept prune as asked: back-off is off" and attempt["backoff"] in lines
    before = result.summary["metrics_before"]["accuracy"]
    assert result.summary["max_drop"] == pytest.approx(100 * (before - 0.5))


@pytest.mark.parametrize("scores, epochs_run", [((5.0, 4.0, 3.0), 1),     # past give-up at its last epoch: stops
                                                ((2.5, 1.5, 0.5), 3),     # within reach: trains on until within
                                                ((2.5, 2.6, 2.7, 2.8), 3)])  # no gain for PATIENCE epochs
def test_best_epochs_trains_on_only_within_reach(scores, epochs_run):
    import keras

    from edgekit.optimize.trainer import BestEpochs

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    given = iter(scores)
    stopping = BestEpochs(1, 4, 1.0, lambda m: next(given), lambda line: None, give_up=3.0)
    stopping.set_model(model)
    model.stop_training = False   # as fit() sets it
    for epoch in range(4):
        stopping.on_epoch_end(epoch)
        if model.stop_training:
            break
    assert epoch + 1 == epochs_run
