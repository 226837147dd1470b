"""Trials that end short of the study's accuracy bound train on before they are judged.

A recipe's fine-tuning epochs are one number for every trial, but recipes differ in what
they need: in a digits study the W 0.4 binary student ended 0.3 pt under the bound after its
4 epochs per stage and lost to an 11 KB model, while the same recipe with a few more epochs
makes 8 KB within it. So every trial of a study with an accuracy bound runs under the
optimize engine's accuracy budget without back-off (:class:`~edgekit.optimize.budget.Budget`):
a stage that ends under the bound trains on, epoch by epoch, up to ``EXTRA_EPOCHS_FACTOR`` x its
epochs, and stops at the first epoch within it or after two epochs without gain, keeping
the best. The strength stays the sampled one (the search chooses strength); hopeless trials
are still cut by the pruner and the chance rule, which watch these epochs too. The
settings go into the config the trials build, so the emitted edgekit.toml carries them and
``edgekit build`` reproduces the trial.
"""

from __future__ import annotations

import dataclasses

from edgekit.pipeline.config import BuildConfig

EXTRA_EPOCHS_FACTOR = 2   # a stage's epochs cap while under the bound: this many times its epochs


def trained_to_the_bound(config: BuildConfig) -> BuildConfig:
    """``config`` whose [finetune] trains each stage on while under its [budgets] accuracy bound; unchanged
    without a bound, or when [finetune] has an accuracy budget of the user's own."""
    finetune, budgets = config.finetune, config.budgets
    if finetune.max_drop is not None or finetune.min_accuracy is not None:
        return config
    if budgets.min_accuracy is None and budgets.max_accuracy_drop is None:
        return config
    drop = None if budgets.max_accuracy_drop is None else 100.0 * budgets.max_accuracy_drop
    return dataclasses.replace(config, finetune=dataclasses.replace(
        finetune, max_drop=drop, min_accuracy=budgets.min_accuracy, backoff=False,
        max_epochs=EXTRA_EPOCHS_FACTOR * finetune.epochs))


__all__ = ["EXTRA_EPOCHS_FACTOR", "trained_to_the_bound"]
