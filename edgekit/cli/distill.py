"""``edgekit distill``: train a small student from a teacher model (knowledge distillation).

The student's flags are the distill stage's (``--distill-*``, from the stage registry), the
same words as ``edgekit optimize`` and an ``[[optimize]]`` table with ``step = "distill"``.
"""

from __future__ import annotations

import click

from edgekit.cli.budget_options import budget, budget_options
from edgekit.cli.finetune_options import finetune_options
from edgekit.cli.model_options import user_code_options
from edgekit.cli.output import emit_json, json_option
from edgekit.cli.renamed import Command
from edgekit.cli.stage_options import given_flags, stage_options
from edgekit.errors import UsageError
from edgekit.vocab import LOSSES

# the command's own spellings before it shared the distill stage's flags
_RENAMED = {"--student": "--distill-student", "--width-multiplier": "--distill-width-multiplier",
            "--alpha": "--distill-alpha", "--temperature": "--distill-temperature"}


@click.command(cls=Command, renamed=_RENAMED)
@click.argument("teacher", type=click.Path(dir_okay=True))
@stage_options("distill")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The student .keras file.")
@click.option("--train-data", required=True, metavar="SPEC",
              help="Training data (.npz with x and y, .npy, a directory); without labels, give --distill-alpha 1.")
@click.option("--val-data", metavar="SPEC", default=None, help="Labelled data for accuracy before/after.")
@finetune_options
@click.option("--loss", "losses", multiple=True, type=click.Choice(LOSSES, case_sensitive=False),
              help="The labels' loss when TEACHER was saved without one (default: inferred from the labels).")
@budget_options
@user_code_options
@json_option
def distill(teacher, output, train_data, val_data, epochs, batch_size, learning_rate, seed, losses, max_drop,
            max_epochs, as_json, **stage_flags):
    """Train a student from TEACHER (a Keras model) and save it as OUTPUT (.keras)."""
    from edgekit.optimize.stages import steps_from_flags

    steps = steps_from_flags(given_flags(stage_flags))
    if not steps:
        raise UsageError("give the student: --distill-student S.keras or --distill-width-multiplier W (one of them)")
    limits = budget(max_drop, max_epochs)
    from edgekit.cli.optimize import render
    from edgekit.cli.output import info, warn
    from edgekit.optimize.distill.file import distill_file
    from edgekit.optimize.finetune import Finetune

    finetune = Finetune(epochs, batch_size, learning_rate, losses, seed)
    summary = distill_file(teacher, output, steps[0].config, finetune, train=train_data, val=val_data, budget=limits,
                           progress=info)
    warn(summary["warning"])
    if as_json:
        emit_json(summary)
    else:
        click.echo(render(summary))
