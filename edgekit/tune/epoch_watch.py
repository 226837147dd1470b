"""A trial's epochs, watched from inside its worker: reported to the study and cut when hopeless.

:class:`EpochWatch` is a Keras callback that every fine-tuning stage of the trial's build
runs (``run_build(epoch_callbacks=...)``). After each epoch it measures the validation
accuracy of the model being trained (top-1 of the first output), reports it to the trial's
twin in the epoch study (:mod:`edgekit.tune.pruners`; step = epochs so far over all stages)
and raises :class:`EpochPruned` when

- the accuracy is below chance + :data:`CHANCE_MARGIN` (chance = 1 / classes): the model has
  collapsed, and further epochs of a collapsed run are what made 1 in 3 trials wasted time;
- or the pruner says the trial is behind the others at this epoch.

With an accuracy bound (``ceiling``, the study's ``min_accuracy``) the value reported is the
accuracy capped at the bound: the search does not reward accuracy above it, so trials above
it tie and a ranking pruner never cuts one of them for trailing another that is merely
further above (successive halving cut 7 such trials at epoch 2 in a digits study).

A ``protected`` trial (a seed recipe) is reported but never cut: the known-good recipes
run every epoch of their budget (a prune or ternary stage dips before it recovers, which
a per-epoch rule would mistake for failure), and their curves are what the pruner
compares the sampled trials against.

It only watches: no weight changes, no randomness drawn, so a trial that is not cut builds
the same bytes as ``edgekit build`` of its recipe. A model without a multi-class first output
(regression, binary) is not watched.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

CHANCE_MARGIN = 0.05


class EpochPruned(Exception):
    """The trial was cut after ``epoch`` epochs at validation accuracy ``accuracy``; ``why`` says which rule."""

    def __init__(self, epoch: int, accuracy: float, why: str):
        super().__init__(f"pruned after epoch {epoch} at validation accuracy {accuracy:.1%}: {why}")
        self.epoch, self.accuracy, self.why = epoch, accuracy, why

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "accuracy": self.accuracy, "why": self.why}


class EpochWatch(keras.callbacks.Callback):
    """Reports every epoch's validation accuracy to the twin trial ``trial_id`` of the study database ``db``."""

    def __init__(self, db: str, trial_id: int, pruner: str, val_spec: str, protected: bool = False,
                 ceiling: float | None = None):
        super().__init__()
        self.db, self.trial_id, self.pruner_name = db, trial_id, pruner
        self.val_spec, self.protected, self.ceiling = val_spec, protected, ceiling
        self.epochs = 0
        self._trial = None
        self._val = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epochs += 1
        measured = self._accuracy()
        if measured is None:
            return
        accuracy, classes = measured
        trial = self._twin()
        trial.report(accuracy if self.ceiling is None else min(accuracy, self.ceiling), self.epochs)
        if self.protected:
            return
        chance = 1.0 / classes
        if accuracy < chance + CHANCE_MARGIN:
            raise EpochPruned(self.epochs, accuracy, f"below chance ({chance:.0%}) + {CHANCE_MARGIN:.0%}")
        if trial.should_prune():
            raise EpochPruned(self.epochs, accuracy, f"{self.pruner_name} pruner: behind the other trials "
                                                     f"at epoch {self.epochs}")

    def _twin(self):
        if self._trial is None:
            import optuna

            from edgekit.tune.pruners import epoch_study

            self._trial = optuna.trial.Trial(epoch_study(self.db, self.pruner_name), self.trial_id)
        return self._trial

    def _accuracy(self) -> tuple[float, int] | None:
        """(top-1 accuracy of the first output on the validation data, its classes); None if not a classifier."""
        if self._val is None:
            from edgekit.data import load_dataset

            data = load_dataset(self.val_spec, require_labels=True)
            self._val = (data.x, np.asarray(data.labels[0]))
        x, labels = self._val
        predicted = self.model.predict(x, batch_size=256, verbose=0)
        first = np.asarray(predicted[0] if isinstance(predicted, (list, tuple)) else predicted)
        if first.ndim != 2 or first.shape[-1] < 2:
            return None
        truth = labels.argmax(-1) if labels.ndim == 2 else labels.reshape(-1)
        return float(np.mean(first.argmax(-1) == truth)), int(first.shape[-1])


__all__ = ["CHANCE_MARGIN", "EpochPruned", "EpochWatch"]
