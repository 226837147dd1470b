"""``--epochs``, ``--batch-size``, ``--learning-rate``, ``--seed``: fine-tuning flags with the shared defaults.

The defaults are :data:`edgekit.optimize.finetune.FINETUNE`, the ones ``[finetune]`` and
``edgekit tune`` use too, so every command that fine-tunes starts from the same settings.
"""

from __future__ import annotations

from typing import Callable

import click

from edgekit.optimize.finetune import FINETUNE

SEED_HELP = "Seed of every random step (initial weights, shuffling, sampling): same seed + data, same model."


def finetune_options(command: Callable) -> Callable:
    """Add the four fine-tuning flags to ``command``."""
    for option in reversed((
        click.option("--epochs", type=click.IntRange(min=1), default=FINETUNE.epochs, show_default=True,
                     help="Fine-tuning epochs per stage."),
        click.option("--batch-size", type=click.IntRange(min=1), default=FINETUNE.batch_size, show_default=True),
        click.option("--learning-rate", type=float, default=FINETUNE.learning_rate,
                     help="Adam's learning rate (default: the model's saved Adam rate, else a range test's, else "
                          "1e-4 with warmup)."),
        seed_option(FINETUNE.seed),
    )):
        command = option(command)
    return command


def seed_option(default: int | None, help: str = SEED_HELP) -> Callable:
    """``--seed N``; ``default`` None where a config file's seed applies unless it is given."""
    return click.option("--seed", type=int, default=default, show_default=default is not None, help=help)
