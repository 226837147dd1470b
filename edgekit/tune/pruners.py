"""How a search cuts hopeless trials: Optuna pruners over each trial's per-epoch validation accuracy.

The search itself is multi-objective (accuracy, size, maybe latency), and Optuna prunes only
single-objective studies; so every trial has a twin in a second study of the same database,
:data:`EPOCH_STUDY` (maximise validation accuracy), to which its worker reports one value
per fine-tuning epoch (the step: epochs so far, over all stages) and which the pruner reads.
The driver tells the twin how the trial ended. Names are ``vocab.TUNE_PRUNERS``; the default,
successive halving, was picked by replaying the recorded epochs of a digits study under each
(bench/results/tune_pruners.md: 85% of the epochs, 1 trial that met the budget cut; median:
90%, 4 such trials cut; Hyperband, whose brackets differ from run to run: 92-96%, 1-2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from edgekit.vocab import TUNE_PRUNERS

EPOCH_STUDY = "edgekit-tune-epochs"
DEFAULT = TUNE_PRUNERS[0]


@dataclass(frozen=True)
class Pruner:
    name: str
    summary: str
    make: Callable[[], Any]     # -> optuna.pruners.BasePruner


def _median():
    import optuna

    # 4 finished trials before it judges (the seed recipes are the first); from a trial's second epoch on
    # (Optuna skips the steps below n_warmup_steps)
    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2)


def _halving():
    import optuna

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3)


def _hyperband():
    import optuna

    return optuna.pruners.HyperbandPruner(min_resource=2, max_resource="auto", reduction_factor=3)


def _none():
    import optuna

    return optuna.pruners.NopPruner()


PRUNERS: dict[str, Pruner] = {p.name: p for p in (
    Pruner("halving", "successive halving: the best third goes on at epochs 2, 6, 18, ...", _halving),
    Pruner("median", "below the median of the finished trials at the same epoch", _median),
    Pruner("hyperband", "Hyperband: successive halving in several brackets", _hyperband),
    Pruner("none", "no trial is cut (only the below-chance rule applies)", _none),
)}


def pruner(name: str):
    return PRUNERS[name].make()


def epoch_study(db, name: str = "none"):
    """The twin study in ``db`` (created if missing), judging with the pruner ``name``."""
    import optuna

    from edgekit.tune.storage import storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name=EPOCH_STUDY, storage=storage(db), direction="maximize",
                               pruner=pruner(name), load_if_exists=True)


__all__ = ["DEFAULT", "EPOCH_STUDY", "PRUNERS", "Pruner", "epoch_study", "pruner"]
